# Counter-based uniforms: the SplitMix64 stream of `key`, read at position `counter`.
# Identical to fastdgm/_rng.py (reference) and fastdgm/_numba_rng.py (numba).
from libc.stdint cimport uint64_t, int64_t

cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)

cdef inline double uniform01(uint64_t key, uint64_t counter) noexcept nogil:
    """Uniform double in [0, 1) with 53 random bits."""
    # through int64: the top 53 bits fit, and x86 converts signed integers in one instruction
    return <double><int64_t>(mix64(key + (counter + 1) * <uint64_t>0x9E3779B97F4A7C15ULL) >> 11) \
        * (1.0 / 9007199254740992.0)

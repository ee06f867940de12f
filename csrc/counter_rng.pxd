# Counter-based uniforms: the SplitMix64 stream of `key`, read at position `counter`.
# The C implementation is csrc/counter_rng.h; identical to fastdgm/_rng.py (reference) and
# fastdgm/kernels/rng.py (numba).
from libc.stdint cimport uint64_t, int64_t

cdef extern from "counter_rng.h" nogil:
    uint64_t mix64(uint64_t z)
    double uniform01(uint64_t key, uint64_t counter)
    void fdgm_uniforms(uint64_t key, uint64_t c0, int64_t n, double* out)

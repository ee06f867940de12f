/* Counter-based uniforms: the SplitMix64 stream of `key`, read at position `counter`.
 *
 * Identical to fastdgm/_rng.py (reference) and fastdgm/kernels/rng.py (numba); the tests
 * check they agree bit for bit. `fdgm_uniforms` fills a block of consecutive counters and
 * is vectorised (8 lanes) on CPUs with AVX-512DQ: the same integer operations, the same
 * exact int64 -> double conversion, hence the same doubles.
 */
#ifndef FASTDGM_COUNTER_RNG_H
#define FASTDGM_COUNTER_RNG_H
#include <stdint.h>
#include "simd.h"

#define FDGM_GOLDEN 0x9E3779B97F4A7C15ULL
#define FDGM_MIX1 0xBF58476D1CE4E5B9ULL
#define FDGM_MIX2 0x94D049BB133111EBULL
#define FDGM_TWO_M53 (1.0 / 9007199254740992.0)

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * FDGM_MIX1;
    z = (z ^ (z >> 27)) * FDGM_MIX2;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) with 53 random bits. Through int64: the top 53 bits fit, and
 * x86 converts signed integers in one instruction. */
static inline double uniform01(uint64_t key, uint64_t counter)
{
    return (double)(int64_t)(mix64(key + (counter + 1) * FDGM_GOLDEN) >> 11) * FDGM_TWO_M53;
}

#if FDGM_X86_SIMD
/* the uniforms of the SplitMix64 states z (state = key + (counter + 1) * GOLDEN) */
FDGM_AVX512 static inline __attribute__((always_inline)) __m512d fdgm_mix_uniform_x8(__m512i z)
{
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), _mm512_set1_epi64((long long)FDGM_MIX1));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), _mm512_set1_epi64((long long)FDGM_MIX2));
    z = _mm512_srli_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 31)), 11);
    return _mm512_mul_pd(_mm512_cvtepi64_pd(z), _mm512_set1_pd(FDGM_TWO_M53));
}

/* the states of counters c0 + offset[j] (offsets in 0..7; the next 8 counters: add 8 GOLDEN) */
FDGM_AVX512 static inline __attribute__((always_inline)) __m512i fdgm_states_x8(uint64_t key, uint64_t c0,
                                                                                __m512i offset)
{
    return _mm512_add_epi64(_mm512_set1_epi64((long long)(key + c0 * FDGM_GOLDEN)),
                            _mm512_mullo_epi64(_mm512_add_epi64(offset, _mm512_set1_epi64(1)),
                                               _mm512_set1_epi64((long long)FDGM_GOLDEN)));
}

/* uniforms of counters c0 + (0..7) */
FDGM_AVX512 static inline __attribute__((always_inline)) __m512d uniform01_x8(uint64_t key, uint64_t c0)
{
    return fdgm_mix_uniform_x8(fdgm_states_x8(key, c0, _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)));
}

FDGM_AVX512 static void fdgm_uniforms_avx512(uint64_t key, uint64_t c0, int64_t n, double* out)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm512_storeu_pd(out + i, uniform01_x8(key, c0 + (uint64_t)i));
    for (; i < n; i++)
        out[i] = uniform01(key, c0 + (uint64_t)i);
}
#endif

/* out[i] = uniform01(key, c0 + i) for i < n */
static inline void fdgm_uniforms(uint64_t key, uint64_t c0, int64_t n, double* out)
{
#if FDGM_X86_SIMD
    if (fdgm_has_avx512()) {
        fdgm_uniforms_avx512(key, c0, n, out);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        out[i] = uniform01(key, c0 + (uint64_t)i);
}
#endif

/* Counter-based uniforms: the SplitMix64 stream of `key`, read at position `counter`.
 *
 * Identical to fastdgm/_rng.py (reference) and fastdgm/kernels/rng.py (numba); the tests
 * check they agree bit for bit. `fdgm_uniforms` fills a block of consecutive counters and
 * is vectorised on the AVX-512 path (8 lanes) and the AVX2 path (4 lanes): the same integer
 * operations, the same exact int64 -> double conversion, hence the same doubles. AVX2 has
 * neither a 64-bit multiply nor that conversion: both are built from exact pieces (32-bit
 * products; the two halves of a 53-bit integer as doubles).
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

/* a * b mod 2^64 in each 64-bit lane, from three 32 x 32 -> 64-bit products */
FDGM_AVX2 static inline __attribute__((always_inline)) __m256i fdgm_mullo64_x4(__m256i a, __m256i b)
{
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                     _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
    return _mm256_add_epi64(_mm256_mul_epu32(a, b), _mm256_slli_epi64(cross, 32));
}

/* x (each lane below 2^53) as doubles, exactly: (2^84 + hi 2^32) - (2^84 + 2^52) and
 * 2^52 + lo are exact, so is their sum hi 2^32 + lo = x */
FDGM_AVX2 static inline __attribute__((always_inline)) __m256d fdgm_u53_to_pd_x4(__m256i x)
{
    __m256d hi = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(x, 32),
                                                     _mm256_set1_epi64x(0x4530000000000000LL)));
    __m256d lo = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(x, _mm256_set1_epi64x(0xFFFFFFFFLL)),
                                                     _mm256_set1_epi64x(0x4330000000000000LL)));
    return _mm256_add_pd(_mm256_sub_pd(hi, _mm256_set1_pd(19342813118337666422669312.0)), lo);
}

/* the uniforms of the SplitMix64 states z, as fdgm_mix_uniform_x8 */
FDGM_AVX2 static inline __attribute__((always_inline)) __m256d fdgm_mix_uniform_x4(__m256i z)
{
    z = fdgm_mullo64_x4(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), _mm256_set1_epi64x((long long)FDGM_MIX1));
    z = fdgm_mullo64_x4(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), _mm256_set1_epi64x((long long)FDGM_MIX2));
    z = _mm256_srli_epi64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 31)), 11);
    return _mm256_mul_pd(fdgm_u53_to_pd_x4(z), _mm256_set1_pd(FDGM_TWO_M53));
}

/* the states of counters c0 + (0..3); the next 4 counters: add 4 GOLDEN */
FDGM_AVX2 static inline __attribute__((always_inline)) __m256i fdgm_states_x4(uint64_t key, uint64_t c0)
{
    const uint64_t s = key + c0 * FDGM_GOLDEN;
    return _mm256_set_epi64x((long long)(s + 4 * FDGM_GOLDEN), (long long)(s + 3 * FDGM_GOLDEN),
                             (long long)(s + 2 * FDGM_GOLDEN), (long long)(s + FDGM_GOLDEN));
}

FDGM_AVX2 static void fdgm_uniforms_avx2(uint64_t key, uint64_t c0, int64_t n, double* out)
{
    const __m256i step = _mm256_set1_epi64x((long long)(4 * FDGM_GOLDEN));
    __m256i z = fdgm_states_x4(key, c0);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4, z = _mm256_add_epi64(z, step))
        _mm256_storeu_pd(out + i, fdgm_mix_uniform_x4(z));
    for (; i < n; i++)
        out[i] = uniform01(key, c0 + (uint64_t)i);
}
#endif

/* out[i] = uniform01(key, c0 + i) for i < n */
static inline void fdgm_uniforms(uint64_t key, uint64_t c0, int64_t n, double* out)
{
#if FDGM_X86_SIMD
    if (fdgm_use_avx512()) {
        fdgm_uniforms_avx512(key, c0, n, out);
        return;
    }
    if (fdgm_use_avx2()) {
        fdgm_uniforms_avx2(key, c0, n, out);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        out[i] = uniform01(key, c0 + (uint64_t)i);
}
#endif

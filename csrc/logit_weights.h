/* Softmax weights of logit rows: w[k] = exp(x[k] - max(x)), with one exp for every path.
 *
 * `fdgm_exp_nonpos` is exp on (-inf, 0] to about 1e-16 relative error (1-2 ulp): the
 * Cody-Waite reduction x = n ln2 + r (|r| <= ln2 / 2, n found with the 1.5 * 2^52 rounding
 * trick), the degree-13 Taylor polynomial of exp(r) as 1 + (r + r^2 t(r)) with t evaluated
 * by Estrin's scheme (a short dependency chain: the exps of a row overlap), then the scaling
 * by 2^n as two exact powers of two so that results down to the subnormals round once. Its
 * AVX-512 and AVX2 twins perform the same operations on 8 and 4 lanes (one body,
 * FDGM_EXP_NONPOS_BODY, for both), so all give the same doubles.
 */
#ifndef FASTDGM_LOGIT_WEIGHTS_H
#define FASTDGM_LOGIT_WEIGHTS_H
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "simd.h"

#define FDGM_EXP_MIN (-746.0)                  /* exp(x) rounds to 0 below */
#define FDGM_LOG2E 1.4426950408889634
#define FDGM_ROUND_SHIFT 6755399441055744.0    /* 1.5 * 2^52 */
#define FDGM_LN2_HI 6.93147180369123816490e-01 /* 0x3fe62e42fee00000: n * LN2_HI is exact */
#define FDGM_LN2_LO 1.90821492927058770002e-10

/* 1/k! for k = 2..13: t(r) = sum_j fdgm_exp_coef[j] r^j */
static const double fdgm_exp_coef[12] = {
    0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0,
    1.0 / 362880.0, 1.0 / 3628800.0, 1.0 / 39916800.0, 1.0 / 479001600.0, 1.0 / 6227020800.0};

/* 2^n for t = n + FDGM_ROUND_SHIFT (-1022 <= n <= 1023): n is in the low bits of t */
static inline double fdgm_pow2_of_shifted(double t)
{
    const double shift = FDGM_ROUND_SHIFT;
    uint64_t bits, sbits;
    double d;
    memcpy(&bits, &t, sizeof bits);
    memcpy(&sbits, &shift, sizeof sbits);
    bits = (bits - sbits + 1023) << 52;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* exp(x) for x <= 0 (x = -inf gives 0). Integer work only on bits (no conversions), so that
 * compilers vectorise loops of it with the baseline ISA (SSE2; with -fno-trapping-math for
 * the select of the clamp). */
static inline double fdgm_exp_nonpos(double x)
{
    x = x < FDGM_EXP_MIN ? FDGM_EXP_MIN : x;
    double nd = (x * FDGM_LOG2E + FDGM_ROUND_SHIFT) - FDGM_ROUND_SHIFT;
    double r = (x - nd * FDGM_LN2_HI) - nd * FDGM_LN2_LO;
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4, a[6];
    for (int k = 0; k < 6; k++)
        a[k] = fdgm_exp_coef[2 * k] + fdgm_exp_coef[2 * k + 1] * r;
    double t = ((a[0] + a[1] * r2) + (a[2] + a[3] * r2) * r4) + (a[4] + a[5] * r2) * r8;
    double p = 1.0 + (r + r2 * t);
    /* 2^n as 2^n1 2^(n - n1), n1 = n / 2 rounded (two normal numbers for n >= -1076) */
    double t1 = nd * 0.5 + FDGM_ROUND_SHIFT;
    double t2 = (nd - (t1 - FDGM_ROUND_SHIFT)) + FDGM_ROUND_SHIFT;
    return (p * fdgm_pow2_of_shifted(t1)) * fdgm_pow2_of_shifted(t2);
}

/* w[k] = exp(x[k] - max x) for one row; 0 (w undefined) if a logit is NaN or +inf, or
 * all are -inf. */
static inline int fdgm_logit_row(const double* x, int64_t C, double* w)
{
    double m = -INFINITY;
    int ok = 1;
    for (int64_t k = 0; k < C; k++) {
        double v = x[k];
        ok &= (v < INFINITY) & (v == v);
        m = v > m ? v : m;
    }
    if (!ok || m == -INFINITY)
        return 0;
    for (int64_t k = 0; k < C; k++)
        w[k] = fdgm_exp_nonpos(x[k] - m);
    return 1;
}

#if FDGM_X86_SIMD
/* The body of the vector exp of x: the operations of fdgm_exp_nonpos in the same order, with
 * the intrinsics of prefix PFX (_mm512, _mm256) on the double vector type V and integer type
 * I; SET1_I64, PD_SI and SI_PD name the intrinsics whose names differ between the two. */
#define FDGM_ESTRIN(PFX, lo, hi, x) PFX##_add_pd(lo, PFX##_mul_pd(hi, x))
#define FDGM_EXP_NONPOS_BODY(V, I, PFX, SET1_I64, PD_SI, SI_PD, x)                                        \
    const V shift = PFX##_set1_pd(FDGM_ROUND_SHIFT);                                                     \
    x = PFX##_max_pd(x, PFX##_set1_pd(FDGM_EXP_MIN));                                                    \
    V nd = PFX##_sub_pd(PFX##_add_pd(PFX##_mul_pd(x, PFX##_set1_pd(FDGM_LOG2E)), shift), shift);         \
    V r = PFX##_sub_pd(PFX##_sub_pd(x, PFX##_mul_pd(nd, PFX##_set1_pd(FDGM_LN2_HI))),                    \
                       PFX##_mul_pd(nd, PFX##_set1_pd(FDGM_LN2_LO)));                                    \
    V r2 = PFX##_mul_pd(r, r), r4 = PFX##_mul_pd(r2, r2), r8 = PFX##_mul_pd(r4, r4), a[6];               \
    for (int k = 0; k < 6; k++)                                                                          \
        a[k] = PFX##_add_pd(PFX##_set1_pd(fdgm_exp_coef[2 * k]),                                         \
                            PFX##_mul_pd(PFX##_set1_pd(fdgm_exp_coef[2 * k + 1]), r));                   \
    V t = FDGM_ESTRIN(PFX, FDGM_ESTRIN(PFX, FDGM_ESTRIN(PFX, a[0], a[1], r2),                              \
                                       FDGM_ESTRIN(PFX, a[2], a[3], r2), r4),                            \
                      FDGM_ESTRIN(PFX, a[4], a[5], r2), r8);                                             \
    V p = PFX##_add_pd(PFX##_set1_pd(1.0), PFX##_add_pd(r, PFX##_mul_pd(r2, t)));                        \
    V t1 = PFX##_add_pd(PFX##_mul_pd(nd, PFX##_set1_pd(0.5)), shift);                                    \
    V t2 = PFX##_add_pd(PFX##_sub_pd(nd, PFX##_sub_pd(t1, shift)), shift);                               \
    const I bias = PFX##_sub_epi64(SET1_I64(1023), PD_SI(shift));                                        \
    V s1 = SI_PD(PFX##_slli_epi64(PFX##_add_epi64(PD_SI(t1), bias), 52));                                \
    V s2 = SI_PD(PFX##_slli_epi64(PFX##_add_epi64(PD_SI(t2), bias), 52));                                \
    return PFX##_mul_pd(PFX##_mul_pd(p, s1), s2)

FDGM_AVX512 static inline __attribute__((always_inline)) __m512d fdgm_exp_nonpos_x8(__m512d x)
{
    FDGM_EXP_NONPOS_BODY(__m512d, __m512i, _mm512, _mm512_set1_epi64, _mm512_castpd_si512, _mm512_castsi512_pd, x);
}

FDGM_AVX2 static inline __attribute__((always_inline)) __m256d fdgm_exp_nonpos_x4(__m256d x)
{
    FDGM_EXP_NONPOS_BODY(__m256d, __m256i, _mm256, _mm256_set1_epi64x, _mm256_castpd_si256, _mm256_castsi256_pd, x);
}

FDGM_AVX512 static int fdgm_logit_row_avx512(const double* x, int64_t C, double* w)
{
    const __m512d inf = _mm512_set1_pd(INFINITY);
    __m512d m = _mm512_set1_pd(-INFINITY);
    __mmask8 bad = 0;
    int64_t k;
    for (k = 0; k < C; k += 8) {
        __mmask8 lanes = C - k >= 8 ? 0xFF : (__mmask8)((1u << (C - k)) - 1);
        __m512d v = _mm512_mask_loadu_pd(m, lanes, x + k);
        bad |= _mm512_cmp_pd_mask(v, inf, _CMP_NLT_UQ);   /* NaN or +inf */
        m = _mm512_max_pd(m, v);
    }
    double mx = _mm512_reduce_max_pd(m);
    if (bad || mx == -INFINITY)
        return 0;
    __m512d vm = _mm512_set1_pd(mx);
    for (k = 0; k < C; k += 8) {
        __mmask8 lanes = C - k >= 8 ? 0xFF : (__mmask8)((1u << (C - k)) - 1);
        __m512d v = _mm512_maskz_loadu_pd(lanes, x + k);
        _mm512_mask_storeu_pd(w + k, lanes, fdgm_exp_nonpos_x8(_mm512_sub_pd(v, vm)));
    }
    return 1;
}

/* fdgm_logit_row on the AVX2 path: 4 logits at a time, the last C % 4 by masked loads and
 * stores (whole vectors in the loop: masked stores are slow on some CPUs) */
FDGM_AVX2 static int fdgm_logit_row_avx2(const double* x, int64_t C, double* w)
{
    const __m256d inf = _mm256_set1_pd(INFINITY), ninf = _mm256_set1_pd(-INFINITY);
    const __m256i tail = _mm256_cmpgt_epi64(_mm256_set1_epi64x(C % 4), _mm256_set_epi64x(3, 2, 1, 0));
    const int64_t c4 = C - C % 4;
    __m256d m = ninf, bad = _mm256_setzero_pd(), v;
    int64_t k;
    for (k = 0; k < c4; k += 4) {
        v = _mm256_loadu_pd(x + k);
        bad = _mm256_or_pd(bad, _mm256_cmp_pd(v, inf, _CMP_NLT_UQ));   /* NaN or +inf */
        m = _mm256_max_pd(m, v);
    }
    v = _mm256_blendv_pd(ninf, _mm256_maskload_pd(x + c4, tail), _mm256_castsi256_pd(tail));
    bad = _mm256_or_pd(bad, _mm256_cmp_pd(v, inf, _CMP_NLT_UQ));
    m = _mm256_max_pd(m, v);
    m = _mm256_max_pd(m, _mm256_permute2f128_pd(m, m, 0x01));
    double mx = _mm256_cvtsd_f64(_mm256_max_pd(m, _mm256_permute_pd(m, 0x5)));
    if (_mm256_movemask_pd(bad) || mx == -INFINITY)
        return 0;
    __m256d vm = _mm256_set1_pd(mx);
    for (k = 0; k < c4; k += 4)
        _mm256_storeu_pd(w + k, fdgm_exp_nonpos_x4(_mm256_sub_pd(_mm256_loadu_pd(x + k), vm)));
    if (c4 < C)
        _mm256_maskstore_pd(w + c4, tail, fdgm_exp_nonpos_x4(_mm256_sub_pd(_mm256_maskload_pd(x + c4, tail), vm)));
    return 1;
}
#endif

/* Softmax weights of `rows` contiguous logit rows of length C: W[i, :] = exp(X[i, :] - max);
 * an invalid row gets W[i, 0] = -1, so that the draw reports it. */
static inline void fdgm_logit_weights(const double* X, int64_t rows, int64_t C, double* W)
{
    for (int64_t i = 0; i < rows; i++) {
        int ok;
#if FDGM_X86_SIMD
        if (fdgm_use_avx512())
            ok = fdgm_logit_row_avx512(X + i * C, C, W + i * C);
        else
        if (fdgm_use_avx2())
            ok = fdgm_logit_row_avx2(X + i * C, C, W + i * C);
        else
#endif
            ok = fdgm_logit_row(X + i * C, C, W + i * C);
        if (!ok)
            W[i * C] = -1.0;
    }
}
#endif

/* Softmax weights of logit rows: w[k] = exp(x[k] - max(x)), with one exp for every path.
 *
 * `fdgm_exp_nonpos` is exp on (-inf, 0] to about 1e-16 relative error (1-2 ulp): the
 * Cody-Waite reduction x = n ln2 + r (|r| <= ln2 / 2, n found with the 1.5 * 2^52 rounding
 * trick), the degree-13 Taylor polynomial of exp(r) as 1 + (r + r^2 t(r)) with t evaluated
 * by Estrin's scheme (a short dependency chain: the exps of a row overlap), then the scaling
 * by 2^n as two exact powers of two so that results down to the subnormals round once. Its
 * AVX-512 twin performs the same operations on 8 lanes, so both give the same doubles.
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
FDGM_AVX512 static inline __attribute__((always_inline)) __m512d fdgm_exp_nonpos_x8(__m512d x)
{
    const __m512d shift = _mm512_set1_pd(FDGM_ROUND_SHIFT);
    x = _mm512_max_pd(x, _mm512_set1_pd(FDGM_EXP_MIN));
    __m512d nd = _mm512_sub_pd(_mm512_add_pd(_mm512_mul_pd(x, _mm512_set1_pd(FDGM_LOG2E)), shift), shift);
    __m512d r = _mm512_sub_pd(_mm512_sub_pd(x, _mm512_mul_pd(nd, _mm512_set1_pd(FDGM_LN2_HI))),
                              _mm512_mul_pd(nd, _mm512_set1_pd(FDGM_LN2_LO)));
    __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2), r8 = _mm512_mul_pd(r4, r4), a[6];
    for (int k = 0; k < 6; k++)
        a[k] = _mm512_add_pd(_mm512_set1_pd(fdgm_exp_coef[2 * k]),
                             _mm512_mul_pd(_mm512_set1_pd(fdgm_exp_coef[2 * k + 1]), r));
#define FDGM_ESTRIN(lo, hi, x) _mm512_add_pd(lo, _mm512_mul_pd(hi, x))
    __m512d t = FDGM_ESTRIN(FDGM_ESTRIN(FDGM_ESTRIN(a[0], a[1], r2), FDGM_ESTRIN(a[2], a[3], r2), r4),
                            FDGM_ESTRIN(a[4], a[5], r2), r8);
#undef FDGM_ESTRIN
    __m512d p = _mm512_add_pd(_mm512_set1_pd(1.0), _mm512_add_pd(r, _mm512_mul_pd(r2, t)));
    __m512d t1 = _mm512_add_pd(_mm512_mul_pd(nd, _mm512_set1_pd(0.5)), shift);
    __m512d t2 = _mm512_add_pd(_mm512_sub_pd(nd, _mm512_sub_pd(t1, shift)), shift);
    const __m512i bias = _mm512_sub_epi64(_mm512_set1_epi64(1023), _mm512_castpd_si512(shift));
    __m512d s1 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(_mm512_castpd_si512(t1), bias), 52));
    __m512d s2 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(_mm512_castpd_si512(t2), bias), 52));
    return _mm512_mul_pd(_mm512_mul_pd(p, s1), s2);
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
#endif

/* Softmax weights of `rows` contiguous logit rows of length C: W[i, :] = exp(X[i, :] - max);
 * an invalid row gets W[i, 0] = -1, so that the draw reports it. */
static inline void fdgm_logit_weights(const double* X, int64_t rows, int64_t C, double* W)
{
    for (int64_t i = 0; i < rows; i++) {
        int ok;
#if FDGM_X86_SIMD
        if (fdgm_has_avx512())
            ok = fdgm_logit_row_avx512(X + i * C, C, W + i * C);
        else
#endif
            ok = fdgm_logit_row(X + i * C, C, W + i * C);
        if (!ok)
            W[i * C] = -1.0;
    }
}
#endif

/* One draw per row of a batch of unnormalised weight rows, reading each row once.
 *
 * The draw of a row w[0..C-1] with uniform u (the fused block scan):
 *   1. block sums: bs[b] = ((w0 + w1) + (w2 + w3)) + ((w4 + w5) + (w6 + w7)) over the
 *      b-th block of BLOCK = 8 weights; a partial last block sums in order from 0.0;
 *   2. prefixes pre[b] = (((0.0 + bs[0]) + bs[1]) + ... + bs[b]); total = pre[nb - 1];
 *      the row is invalid if a weight is negative, or total is not in (0, inf) (NaN and
 *      inf weights make it so);
 *   3. target = u * total; the block is the count of prefixes pre[0..nb-2] at or below
 *      target (prefixes never decrease); inside it the draw is the block start plus the
 *      count of the running sums pre[b-1] + w[k0] + ... + w[k] (k < k1 - 1) at or below
 *      target; rounding may land on a zero weight: then the next positive one, else the
 *      last positive one.
 * Only step 1 reads the row from memory. Every kernel below evaluates exactly these
 * floating-point operations, so all give the same draws: the portable one a row at a time,
 * and with AVX-512 (AVX2) either the block sums of 8 (4) rows at once (C a multiple of 8,
 * the sums of 8 (4) blocks by one transposing add network) or 8 (4) rows in the lanes of a
 * vector (C = 2, 4).
 */
#ifndef FASTDGM_ROW_DRAW_H
#define FASTDGM_ROW_DRAW_H
#include <math.h>
#include <stdint.h>
#include "simd.h"
#include "counter_rng.h"

#define FDGM_BLOCK 8

/* step 1 for one row: nb block sums into bs; returns nb. *neg is set if a weight is < 0 */
static inline int64_t fdgm_block_sums(const double* w, int64_t C, double* bs, int* neg)
{
    int64_t nb = C / FDGM_BLOCK, b, k;
    double mn = 0.0;
    for (b = 0; b < nb; b++) {
        const double* p = w + b * FDGM_BLOCK;
        bs[b] = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
        for (k = 0; k < FDGM_BLOCK; k++)
            mn = p[k] < mn ? p[k] : mn;
    }
    if (nb * FDGM_BLOCK < C) {
        double s = 0.0;
        for (k = nb * FDGM_BLOCK; k < C; k++) {
            s += w[k];
            mn = w[k] < mn ? w[k] : mn;
        }
        bs[nb++] = s;
    }
    *neg |= mn < 0.0;
    return nb;
}

/* the next positive weight from k on, else the last positive one (rounding at a level) */
static inline int64_t fdgm_positive_from(const double* w, int64_t C, int64_t k)
{
    for (int64_t j = k; j < C; j++)
        if (w[j] > 0.0)
            return j;
    int64_t last = C - 1;
    while (last > 0 && !(w[last] > 0.0))
        last--;
    return last;
}

/* steps 2-3 given the nb block sums (overwritten by the prefixes); -1 if the row is invalid */
static inline int64_t fdgm_search_blocks(const double* w, int64_t C, double* bs, int64_t nb, double u)
{
    double acc = 0.0, target;
    int64_t b = 0, k, k0, k1, res;
    for (k = 0; k < nb; k++) {
        acc += bs[k];
        bs[k] = acc;
    }
    if (!(acc > 0.0) || acc == INFINITY)
        return -1;
    target = u * acc;
    for (k = 0; k < nb - 1; k++)
        b += target >= bs[k];
    acc = b > 0 ? bs[b - 1] : 0.0;
    k0 = b * FDGM_BLOCK;
    k1 = k0 + FDGM_BLOCK < C ? k0 + FDGM_BLOCK : C;
    res = k0;
    if (k1 - k0 == FDGM_BLOCK) {   /* the same loop with a constant trip count: unrolled */
        for (k = k0; k < k0 + FDGM_BLOCK - 1; k++) {
            acc += w[k];
            res += target >= acc;
        }
    } else {
        for (k = k0; k < k1 - 1; k++) {
            acc += w[k];
            res += target >= acc;
        }
    }
    return w[res] > 0.0 ? res : fdgm_positive_from(w, C, res + 1);
}

/* the portable draw of one row (bs: C / 8 + 1 doubles of scratch); -1 if invalid */
static inline int64_t fdgm_draw_row(const double* w, int64_t C, double u, double* bs)
{
    int neg = 0;
    int64_t nb = fdgm_block_sums(w, C, bs, &neg);
    return neg ? -1 : fdgm_search_blocks(w, C, bs, nb, u);
}

/* out[i] = draw of row i with uniform(key, c0 + i); an invalid row gets 0 and is counted */
static inline int64_t fdgm_draw_rows_portable(const double* P, int64_t rows, int64_t C, uint64_t key,
                                              uint64_t c0, int64_t* out, double* bs)
{
    int64_t nbad = 0;
    for (int64_t i = 0; i < rows; i++) {
        int64_t res = fdgm_draw_row(P + i * C, C, uniform01(key, c0 + (uint64_t)i), bs);
        nbad += res < 0;
        out[i] = res < 0 ? 0 : res;
    }
    return nbad;
}

#if FDGM_X86_SIMD
/* the 8 block sums of 64 consecutive weights, by a transposing add network whose every
 * add is one of the block-sum tree's; *signs accumulates the OR of the weights' bits */
FDGM_AVX512 static inline __attribute__((always_inline)) __m512d fdgm_sums_of_8_blocks(
    const double* p, __m512i* signs)
{
    __m512d v[8], s[4], t[2];
    int j;
    for (j = 0; j < 8; j++)
        v[j] = _mm512_loadu_pd(p + 8 * j);
    for (j = 0; j < 8; j += 2)
        *signs = _mm512_ternarylogic_epi64(*signs, _mm512_castpd_si512(v[j]), _mm512_castpd_si512(v[j + 1]), 0xFE);
    for (j = 0; j < 4; j++)       /* lanes (a01 b01 a23 b23 a45 b45 a67 b67) of blocks a, b */
        s[j] = _mm512_add_pd(_mm512_unpacklo_pd(v[2 * j], v[2 * j + 1]),
                             _mm512_unpackhi_pd(v[2 * j], v[2 * j + 1]));
    for (j = 0; j < 2; j++)       /* (a0123 b0123 a4567 b4567 c0123 d0123 c4567 d4567) */
        t[j] = _mm512_add_pd(_mm512_shuffle_f64x2(s[2 * j], s[2 * j + 1], 0x88),
                             _mm512_shuffle_f64x2(s[2 * j], s[2 * j + 1], 0xDD));
    return _mm512_add_pd(_mm512_shuffle_f64x2(t[0], t[1], 0x88),
                         _mm512_shuffle_f64x2(t[0], t[1], 0xDD));
}

/* C a multiple of 8, 8 rows at a time: step 1 for the 8 rows together (their 8 * C / 8
 * blocks are contiguous), then steps 2-3 per row while the rows are in L1. A group with a
 * weight whose sign bit is set (a negative weight, or -0 or a NaN) is redone by the
 * portable kernel, which finds its invalid rows. */
FDGM_AVX512 static int64_t fdgm_draw_rows_blocks(const double* P, int64_t rows, int64_t C, uint64_t key,
                                                 uint64_t c0, int64_t* out, double* bs)
{
    const __m512i step = _mm512_set1_epi64((long long)(8 * FDGM_GOLDEN));
    __m512i z = fdgm_states_x8(key, c0, _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    int64_t nbr = C / FDGM_BLOCK, i, j, nbad = 0;
    double u[8];
    for (i = 0; i + 8 <= rows; i += 8, z = _mm512_add_epi64(z, step)) {
        const double* p = P + i * C;
        __m512i signs = _mm512_setzero_si512();
        _mm512_storeu_pd(u, fdgm_mix_uniform_x8(z));
        for (j = 0; j < 8 * nbr; j += 8)
            _mm512_storeu_pd(bs + j, fdgm_sums_of_8_blocks(p + FDGM_BLOCK * j, &signs));
        if (_mm512_test_epi64_mask(signs, _mm512_set1_epi64((long long)0x8000000000000000ULL))) {
            nbad += fdgm_draw_rows_portable(p, 8, C, key, c0 + (uint64_t)i, out + i, bs);
            continue;
        }
        for (j = 0; j < 8; j++) {
            int64_t res = fdgm_search_blocks(p + j * C, C, bs + j * nbr, nbr, u[j]);
            nbad += res < 0;
            out[i + j] = res < 0 ? 0 : res;
        }
    }
    return nbad + fdgm_draw_rows_portable(P + i * C, rows - i, C, key, c0 + (uint64_t)i, out + i, bs);
}

/* C = 2 or 4 (one partial block), inlined with a constant C: the weights of 8 rows become
 * the C columns by in-lane unpacks (and, for C = 4, 128-bit shuffles), which leave the rows
 * in lane order `order` (the uniforms follow it; the draws are put back in order). Lanes
 * that are invalid or land on a zero weight are redone by the portable kernel, and so are
 * all the rows if a weight has its sign bit set (the OR of all weights). */
FDGM_AVX512 static inline __attribute__((always_inline)) int64_t fdgm_lanes_body(
    const double* P, int64_t rows, const int C, uint64_t key, uint64_t c0, int64_t* out, double* bs)
{
    const __m512i order = C == 2 ? _mm512_set_epi64(7, 3, 6, 2, 5, 1, 4, 0) : _mm512_set_epi64(7, 5, 6, 4, 3, 1, 2, 0);
    const __m512i unorder = C == 2 ? _mm512_set_epi64(7, 5, 3, 1, 6, 4, 2, 0) : order;  /* inverse */
    const __m512i sign = _mm512_set1_epi64((long long)0x8000000000000000ULL), one = _mm512_set1_epi64(1);
    const __m512i step = _mm512_set1_epi64((long long)(8 * FDGM_GOLDEN));
    const int bad_class = 0xDF;   /* NaN, +-0, +-inf, negative: anything but positive finite */
    __m512i z = fdgm_states_x8(key, c0, order), signs = _mm512_setzero_si512();
    int64_t rowpos[8], i, nbad = 0;
    _mm512_storeu_si512((void*)rowpos, order);
    for (i = 0; i + 8 <= rows; i += 8, z = _mm512_add_epi64(z, step)) {
        const double* p = P + i * C;
        __m512d col[4], run[4], wres;
        __m512i res;
        __mmask8 redo;
        int k;
        if (C == 2) {
            __m512d v0 = _mm512_loadu_pd(p), v1 = _mm512_loadu_pd(p + 8);
            col[0] = _mm512_unpacklo_pd(v0, v1);
            col[1] = _mm512_unpackhi_pd(v0, v1);
            signs = _mm512_ternarylogic_epi64(signs, _mm512_castpd_si512(v0), _mm512_castpd_si512(v1), 0xFE);
        } else {
            __m512d v0 = _mm512_loadu_pd(p), v1 = _mm512_loadu_pd(p + 8);
            __m512d v2 = _mm512_loadu_pd(p + 16), v3 = _mm512_loadu_pd(p + 24);
            __m512d lo01 = _mm512_unpacklo_pd(v0, v1), hi01 = _mm512_unpackhi_pd(v0, v1);
            __m512d lo23 = _mm512_unpacklo_pd(v2, v3), hi23 = _mm512_unpackhi_pd(v2, v3);
            col[0] = _mm512_shuffle_f64x2(lo01, lo23, 0x88);
            col[1] = _mm512_shuffle_f64x2(hi01, hi23, 0x88);
            col[2] = _mm512_shuffle_f64x2(lo01, lo23, 0xDD);
            col[3] = _mm512_shuffle_f64x2(hi01, hi23, 0xDD);
            signs = _mm512_ternarylogic_epi64(signs, _mm512_castpd_si512(v0), _mm512_castpd_si512(v1), 0xFE);
            signs = _mm512_ternarylogic_epi64(signs, _mm512_castpd_si512(v2), _mm512_castpd_si512(v3), 0xFE);
        }
        run[0] = col[0];   /* = 0.0 + w0 up to the sign of a zero, which no comparison sees */
        for (k = 1; k < C; k++)
            run[k] = _mm512_add_pd(run[k - 1], col[k]);
        __m512d target = _mm512_mul_pd(fdgm_mix_uniform_x8(z), run[C - 1]);
        res = _mm512_setzero_si512();
        wres = col[0];
        for (k = 0; k < C - 1; k++) {   /* run[k] <= target: nested lane sets, k increasing */
            __mmask8 m = _mm512_cmp_pd_mask(target, run[k], _CMP_GE_OQ);
            res = _mm512_mask_add_epi64(res, m, res, one);
            wres = _mm512_mask_blend_pd(m, wres, col[k + 1]);
        }
        _mm512_storeu_si512((void*)(out + i), _mm512_permutexvar_epi64(unorder, res));
        redo = _mm512_fpclass_pd_mask(run[C - 1], bad_class) | _mm512_fpclass_pd_mask(wres, bad_class);
        for (; redo; redo &= (__mmask8)(redo - 1)) {
            int64_t r = rowpos[__builtin_ctz(redo)];
            nbad += fdgm_draw_rows_portable(p + r * C, 1, C, key, c0 + (uint64_t)(i + r), out + i + r, bs);
        }
    }
    if (_mm512_test_epi64_mask(signs, sign))
        return fdgm_draw_rows_portable(P, rows, C, key, c0, out, bs);
    return nbad + fdgm_draw_rows_portable(P + i * C, rows - i, C, key, c0 + (uint64_t)i, out + i, bs);
}

FDGM_AVX512 static int64_t fdgm_draw_rows_lanes(const double* P, int64_t rows, int64_t C, uint64_t key,
                                                uint64_t c0, int64_t* out, double* bs)
{
    return C == 2 ? fdgm_lanes_body(P, rows, 2, key, c0, out, bs) : fdgm_lanes_body(P, rows, 4, key, c0, out, bs);
}

/* the 4 block sums of 32 consecutive weights (blocks a, b, c, d), by a transposing add
 * network whose every add is one of the block-sum tree's; *signs accumulates the OR of the
 * weights' bits */
FDGM_AVX2 static inline __attribute__((always_inline)) __m256d fdgm_sums_of_4_blocks(
    const double* p, __m256i* signs)
{
    __m256d v[8], s[4], t[2];
    int j;
    for (j = 0; j < 8; j++)
        v[j] = _mm256_loadu_pd(p + 4 * j);
    for (j = 0; j < 8; j++)
        *signs = _mm256_or_si256(*signs, _mm256_castpd_si256(v[j]));
    for (j = 0; j < 4; j++)       /* (a01 b01 a23 b23), (a45 b45 a67 b67), then c, d */
        s[j] = _mm256_add_pd(_mm256_unpacklo_pd(v[(j >> 1) * 4 + (j & 1)], v[(j >> 1) * 4 + (j & 1) + 2]),
                             _mm256_unpackhi_pd(v[(j >> 1) * 4 + (j & 1)], v[(j >> 1) * 4 + (j & 1) + 2]));
    for (j = 0; j < 2; j++)       /* (a0123 b0123 c0123 d0123), (a4567 b4567 c4567 d4567) */
        t[j] = _mm256_add_pd(_mm256_permute2f128_pd(s[j], s[j + 2], 0x20),
                             _mm256_permute2f128_pd(s[j], s[j + 2], 0x31));
    return _mm256_add_pd(t[0], t[1]);
}

/* software prefetch of the AVX2 kernels, in groups of 4 rows ahead (measured on Zen 3 under
 * load: the block kernel at C = 256 1.36-1.41x -> 1.21-1.22x P.sum(), the lanes kernel at
 * C = 32 1.22-1.43x -> 1.14-1.19x) */
#define FDGM_BLOCKS_PREFETCH_GROUPS 1
#define FDGM_LANES_PREFETCH_GROUPS 2

/* the rows of C weights `groups` groups of 4 after p (row i of `rows`); p itself where that
 * would pass the last row, so a prefetch never reads past the end */
static inline const double* fdgm_rows_ahead(const double* p, int64_t i, int64_t rows, int64_t C, int groups)
{
    return p + (i + 4 * (groups + 1) <= rows ? 4 * C * groups : 0);
}

/* fdgm_draw_rows_blocks on the AVX2 path: 4 rows at a time */
FDGM_AVX2 static int64_t fdgm_draw_rows_blocks_avx2(const double* P, int64_t rows, int64_t C, uint64_t key,
                                                    uint64_t c0, int64_t* out, double* bs)
{
    const __m256i step = _mm256_set1_epi64x((long long)(4 * FDGM_GOLDEN));
    __m256i z = fdgm_states_x4(key, c0);
    int64_t nbr = C / FDGM_BLOCK, i, j, nbad = 0;
    double u[4];
    for (i = 0; i + 4 <= rows; i += 4, z = _mm256_add_epi64(z, step)) {
        const double* p = P + i * C;
        const double* pf = fdgm_rows_ahead(p, i, rows, C, FDGM_BLOCKS_PREFETCH_GROUPS);
        __m256i signs = _mm256_setzero_si256();
        _mm256_storeu_pd(u, fdgm_mix_uniform_x4(z));
        for (j = 0; j < 4 * nbr; j += 4) {
            for (int l = 0; l < 4 * FDGM_BLOCK; l += 8)
                __builtin_prefetch(pf + FDGM_BLOCK * j + l);
            _mm256_storeu_pd(bs + j, fdgm_sums_of_4_blocks(p + FDGM_BLOCK * j, &signs));
        }
        if (_mm256_movemask_pd(_mm256_castsi256_pd(signs))) {
            nbad += fdgm_draw_rows_portable(p, 4, C, key, c0 + (uint64_t)i, out + i, bs);
            continue;
        }
        for (j = 0; j < 4; j++) {
            int64_t res = fdgm_search_blocks(p + j * C, C, bs + j * nbr, nbr, u[j]);
            nbad += res < 0;
            out[i + j] = res < 0 ? 0 : res;
        }
    }
    return nbad + fdgm_draw_rows_portable(P + i * C, rows - i, C, key, c0 + (uint64_t)i, out + i, bs);
}

/* 4 x 4 transpose: row r of v becomes lane r of col[0..3] */
FDGM_AVX2 static inline __attribute__((always_inline)) void fdgm_transpose4(const __m256d* v, __m256d* col)
{
    __m256d lo01 = _mm256_unpacklo_pd(v[0], v[1]), hi01 = _mm256_unpackhi_pd(v[0], v[1]);
    __m256d lo23 = _mm256_unpacklo_pd(v[2], v[3]), hi23 = _mm256_unpackhi_pd(v[2], v[3]);
    col[0] = _mm256_permute2f128_pd(lo01, lo23, 0x20);
    col[1] = _mm256_permute2f128_pd(hi01, hi23, 0x20);
    col[2] = _mm256_permute2f128_pd(lo01, lo23, 0x31);
    col[3] = _mm256_permute2f128_pd(hi01, hi23, 0x31);
}

#define FDGM_LANES_MAX_C 32

/* 2 <= C <= 32 (inlined with a constant C): 4 rows in the lanes of a vector, in order, every
 * step of the row draw on the 4 rows at once. The weights become the C columns (C = 2: two
 * loads and unpacks; else 4 x 4 transposes of quads, the last one by masked loads); then the
 * block sums, prefixes, the block (the count of prefixes at or below the target, selecting
 * the prefix before it and the block's weights as it goes) and the count inside the block.
 * The steps past a partial last block's end do not count. Lanes whose total or drawn weight
 * is not positive and finite are redone by the portable kernel, and so are all the rows if
 * a weight has its sign bit set (the OR of all weights). */
FDGM_AVX2 static inline __attribute__((always_inline)) int64_t fdgm_lanes_avx2(
    const double* P, int64_t rows, const int C, uint64_t key, uint64_t c0, int64_t* out, double* bs)
{
    const int nb = (C + FDGM_BLOCK - 1) / FDGM_BLOCK, nq = (C + 3) / 4;
    const int last_len = C - FDGM_BLOCK * (nb - 1);   /* length of the last block */
    const __m256i step = _mm256_set1_epi64x((long long)(4 * FDGM_GOLDEN));
    const __m256i tail = _mm256_cmpgt_epi64(_mm256_set1_epi64x(C - 4 * (nq - 1)), _mm256_set_epi64x(3, 2, 1, 0));
    const __m256d zero = _mm256_setzero_pd(), inf = _mm256_set1_pd(INFINITY);
    __m256i z = fdgm_states_x4(key, c0), signs = _mm256_setzero_si256();
    int64_t i, nbad = 0;
    for (i = 0; i + 4 <= rows; i += 4, z = _mm256_add_epi64(z, step)) {
        const double* p = P + i * C;
        const double* pf = fdgm_rows_ahead(p, i, rows, C, FDGM_LANES_PREFETCH_GROUPS);
        for (int l = 0; l < 4 * C; l += 8)
            __builtin_prefetch(pf + l);
        __m256d col[4 * ((FDGM_LANES_MAX_C + 3) / 4)], pre[FDGM_LANES_MAX_C / FDGM_BLOCK], sel[FDGM_BLOCK];
        __m256d acc, target, wres, last_block, ok;
        __m256i res;
        int k, b, q, r, redo;
        if (C == 2) {
            __m256d v0 = _mm256_loadu_pd(p), v1 = _mm256_loadu_pd(p + 4);   /* rows 0 1, rows 2 3 */
            col[0] = _mm256_permute4x64_pd(_mm256_unpacklo_pd(v0, v1), 0xD8);
            col[1] = _mm256_permute4x64_pd(_mm256_unpackhi_pd(v0, v1), 0xD8);
            signs = _mm256_or_si256(signs, _mm256_castpd_si256(_mm256_or_pd(v0, v1)));
        } else {
            for (q = 0; q < nq; q++) {
                __m256d v[4];
                for (r = 0; r < 4; r++) {
                    v[r] = 4 * q + 4 <= C ? _mm256_loadu_pd(p + r * C + 4 * q)
                                          : _mm256_maskload_pd(p + r * C + 4 * q, tail);
                    signs = _mm256_or_si256(signs, _mm256_castpd_si256(v[r]));
                }
                fdgm_transpose4(v, col + 4 * q);
            }
        }
        acc = zero;   /* step 1 and 2: block sums and prefixes */
        for (b = 0; b < nb; b++) {
            const __m256d* w = col + FDGM_BLOCK * b;
            __m256d sum;
            if (b < nb - 1 || last_len == FDGM_BLOCK) {
                sum = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(w[0], w[1]), _mm256_add_pd(w[2], w[3])),
                                    _mm256_add_pd(_mm256_add_pd(w[4], w[5]), _mm256_add_pd(w[6], w[7])));
            } else {
                sum = zero;
                for (k = 0; k < last_len; k++)
                    sum = _mm256_add_pd(sum, w[k]);
            }
            acc = _mm256_add_pd(acc, sum);
            pre[b] = acc;
        }
        target = _mm256_mul_pd(fdgm_mix_uniform_x4(z), acc);
        /* step 3: the block (nested lane sets as b increases), its start and weights */
        res = _mm256_setzero_si256();
        acc = zero;
        last_block = zero;
        for (k = 0; k < FDGM_BLOCK; k++)
            sel[k] = k < C ? col[k] : zero;
        for (b = 0; b < nb - 1; b++) {
            __m256d m = _mm256_cmp_pd(target, pre[b], _CMP_GE_OQ);
            res = _mm256_sub_epi64(res, _mm256_and_si256(_mm256_castpd_si256(m), _mm256_set1_epi64x(-FDGM_BLOCK)));
            acc = _mm256_blendv_pd(acc, pre[b], m);
            for (k = 0; k < FDGM_BLOCK; k++)
                sel[k] = _mm256_blendv_pd(sel[k], FDGM_BLOCK * (b + 1) + k < C ? col[FDGM_BLOCK * (b + 1) + k] : zero, m);
            last_block = m;
        }
        if (nb == 1)
            last_block = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
        wres = sel[0];
        for (k = 0; k < FDGM_BLOCK - 1; k++) {   /* running sums at or below the target */
            __m256d m;
            acc = _mm256_add_pd(acc, sel[k]);
            m = _mm256_cmp_pd(target, acc, _CMP_GE_OQ);
            if (k >= last_len - 1)   /* past the end of a partial last block */
                m = _mm256_andnot_pd(last_block, m);
            res = _mm256_sub_epi64(res, _mm256_castpd_si256(m));   /* all ones = -1 */
            wres = _mm256_blendv_pd(wres, sel[k + 1], m);
        }
        _mm256_storeu_si256((__m256i*)(out + i), res);
        ok = _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(pre[nb - 1], zero, _CMP_GT_OQ),
                                         _mm256_cmp_pd(pre[nb - 1], inf, _CMP_LT_OQ)),
                           _mm256_cmp_pd(wres, zero, _CMP_GT_OQ));
        for (redo = ~_mm256_movemask_pd(ok) & 0xF; redo; redo &= redo - 1) {
            r = __builtin_ctz((unsigned)redo);
            nbad += fdgm_draw_rows_portable(p + r * C, 1, C, key, c0 + (uint64_t)(i + r), out + i + r, bs);
        }
    }
    if (_mm256_movemask_pd(_mm256_castsi256_pd(signs)))
        return fdgm_draw_rows_portable(P, rows, C, key, c0, out, bs);
    return nbad + fdgm_draw_rows_portable(P + i * C, rows - i, C, key, c0 + (uint64_t)i, out + i, bs);
}

/* the lanes kernel for 2 <= C <= FDGM_LANES_MAX_C */
FDGM_AVX2 static int64_t fdgm_draw_rows_lanes_avx2(const double* P, int64_t rows, int64_t C, uint64_t key,
                                                   uint64_t c0, int64_t* out, double* bs)
{
    switch (C) {
#define FDGM_LANES_CASE(c) case c: return fdgm_lanes_avx2(P, rows, c, key, c0, out, bs);
    FDGM_LANES_CASE(2) FDGM_LANES_CASE(3) FDGM_LANES_CASE(4) FDGM_LANES_CASE(5) FDGM_LANES_CASE(6)
    FDGM_LANES_CASE(7) FDGM_LANES_CASE(8) FDGM_LANES_CASE(9) FDGM_LANES_CASE(10) FDGM_LANES_CASE(11)
    FDGM_LANES_CASE(12) FDGM_LANES_CASE(13) FDGM_LANES_CASE(14) FDGM_LANES_CASE(15) FDGM_LANES_CASE(16)
    FDGM_LANES_CASE(17) FDGM_LANES_CASE(18) FDGM_LANES_CASE(19) FDGM_LANES_CASE(20) FDGM_LANES_CASE(21)
    FDGM_LANES_CASE(22) FDGM_LANES_CASE(23) FDGM_LANES_CASE(24) FDGM_LANES_CASE(25) FDGM_LANES_CASE(26)
    FDGM_LANES_CASE(27) FDGM_LANES_CASE(28) FDGM_LANES_CASE(29) FDGM_LANES_CASE(30) FDGM_LANES_CASE(31)
    FDGM_LANES_CASE(32)
#undef FDGM_LANES_CASE
    }
    return fdgm_draw_rows_portable(P, rows, C, key, c0, out, bs);
}
#endif

/* One draw per row of `rows` contiguous rows of C weights: out[i] uses uniform(key, r0 + i).
 * bs (8 * (C / 8 + 1) doubles) is scratch. Returns the number of invalid rows (their draws
 * are 0). */
static inline int64_t fdgm_draw_rows(const double* P, int64_t rows, int64_t C, uint64_t key, uint64_t r0,
                                     int64_t* out, double* bs)
{
#if FDGM_X86_SIMD
    if (fdgm_use_avx512()) {
        if (C == 2 || C == 4)
            return fdgm_draw_rows_lanes(P, rows, C, key, r0, out, bs);
        if (C % FDGM_BLOCK == 0)
            return fdgm_draw_rows_blocks(P, rows, C, key, r0, out, bs);
    }
    if (fdgm_use_avx2()) {
        if (C >= 2 && C <= FDGM_LANES_MAX_C)
            return fdgm_draw_rows_lanes_avx2(P, rows, C, key, r0, out, bs);
        if (C % FDGM_BLOCK == 0)
            return fdgm_draw_rows_blocks_avx2(P, rows, C, key, r0, out, bs);
    }
#endif
    return fdgm_draw_rows_portable(P, rows, C, key, r0, out, bs);
}
#endif

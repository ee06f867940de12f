/* Run-time SIMD dispatch: AVX-512 (F, DQ, VL, BW) and AVX2 kernels next to portable ones.
 *
 * The extension is built for the baseline ISA (wheels must run anywhere); functions marked
 * FDGM_AVX512 or FDGM_AVX2 are compiled for that instruction set and called only after
 * fdgm_simd_select() found it on the CPU. Every SIMD kernel repeats the floating-point
 * operations of its portable twin in the same order (no FMA: the AVX2 kernels are compiled
 * without it and setup.py passes -ffp-contract=off), so results do not depend on the path.
 * The path is chosen once, at import (fastdgm/kernels/_threshold.pyx): the best the CPU has,
 * capped by FASTDGM_SIMD=avx512|avx2|portable (FASTDGM_NO_SIMD=1: portable), e.g. to test
 * that every path gives the same draws on one machine.
 */
#ifndef FASTDGM_SIMD_H
#define FASTDGM_SIMD_H

#define FDGM_PATH_PORTABLE 0
#define FDGM_PATH_AVX2 1
#define FDGM_PATH_AVX512 2

/* the path in use; portable until fdgm_simd_select() runs (at import, under the GIL) */
static int fdgm_simd_path = FDGM_PATH_PORTABLE;

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) \
    && !defined(FASTDGM_NO_SIMD)
#define FDGM_X86_SIMD 1
#include <immintrin.h>
#define FDGM_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,popcnt")))
#define FDGM_AVX2 __attribute__((target("avx2")))   /* no "fma": products round as in C */

/* the best path this CPU runs */
static inline int fdgm_cpu_path(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        return FDGM_PATH_AVX512;
    return __builtin_cpu_supports("avx2") ? FDGM_PATH_AVX2 : FDGM_PATH_PORTABLE;
}
#else
#define FDGM_X86_SIMD 0
static inline int fdgm_cpu_path(void) { return FDGM_PATH_PORTABLE; }
#endif

/* use the best path of the CPU, at most `cap`; returns the path chosen */
static inline int fdgm_simd_select(int cap)
{
    int cpu = fdgm_cpu_path();
    fdgm_simd_path = cap < cpu ? cap : cpu;
    return fdgm_simd_path;
}

static inline int fdgm_use_avx512(void) { return fdgm_simd_path == FDGM_PATH_AVX512; }
static inline int fdgm_use_avx2(void) { return fdgm_simd_path == FDGM_PATH_AVX2; }

#endif

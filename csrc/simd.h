/* Run-time SIMD dispatch: AVX-512 (F, DQ, VL, BW) kernels next to portable ones.
 *
 * The extension is built for the baseline ISA (wheels must run anywhere); functions marked
 * FDGM_AVX512 are compiled for AVX-512 and called only after fdgm_has_avx512() said the CPU
 * has it. Every AVX-512 kernel repeats the floating-point operations of its portable twin
 * in the same order (no FMA contraction: setup.py passes -ffp-contract=off), so results do
 * not depend on the machine. FASTDGM_NO_SIMD=1 in the environment (read once, at import)
 * selects the portable kernels, e.g. to test that both give the same draws.
 */
#ifndef FASTDGM_SIMD_H
#define FASTDGM_SIMD_H

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) \
    && !defined(FASTDGM_NO_SIMD)
#define FDGM_X86_SIMD 1
#include <immintrin.h>
#include <stdlib.h>
#define FDGM_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,popcnt")))

static inline int fdgm_has_avx512(void)
{
    static int cached = -1;
    if (cached < 0) {   /* first called at import (under the GIL), so never raced */
        const char* off = getenv("FASTDGM_NO_SIMD");
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
                 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")
                 && !(off != NULL && off[0] != '\0' && off[0] != '0');
    }
    return cached;
}
#else
#define FDGM_X86_SIMD 0
static inline int fdgm_has_avx512(void) { return 0; }
#endif

#endif

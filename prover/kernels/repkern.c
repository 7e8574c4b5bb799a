/* Reproducible CPU kernels for veritrain: two families from this one source.
 *
 * Family "repcpu" (profiles repcpu-1, repcpu-2; built without -DRK_FMA): every output element
 * is a fixed sequence of IEEE-754 single-precision operations without fused multiply-add:
 *   GEMM:      acc = 0; for k = 0..K-1 ascending: acc = acc + (a[k] * b[k])   (two roundings)
 *              then acc = acc + bias  (when a bias is given)
 * Family "repfma" (profile repfma-1; built with -DRK_FMA=1): the same kernels except that
 *   GEMM:      acc = 0; for k = 0..K-1 ascending: acc = fma(a[k], b[k], acc)   (one rounding)
 *              then acc = acc + bias
 * and the blocked sums rk_fsum (16 fixed lanes per block of 4096, see there). fma is the
 * IEEE-754 fusedMultiplyAdd (one rounding of the exact a*b + c): the avx2/avx512 builds issue
 * it by intrinsic (vfmadd231ps), the sse build computes it exactly in software (rk_vfma_soft),
 * so all three give the same bits. Every other kernel is the same C in both families.
 * SIMD is used only across independent output elements (columns of a tile), never inside one
 * sum, so builds for SSE, AVX2 and AVX-512 give the same bits; threads split output rows and
 * columns only, so any thread count gives the same bits. Built with -ffp-contract=off (the
 * compiler fuses nothing itself) and never with -ffast-math (no reassociation, no
 * rcpps/rsqrtps). Blocking over k stores the partial sum as a float and reloads it, which is
 * exact, so it keeps the order.
 *
 * The build is selected by -DRK_VW (floats per vector: 4 sse, 8 avx2, 16 avx512).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef RK_VW
#define RK_VW 4
#endif
#ifndef RK_FMA
#define RK_FMA 0
#endif
#include <immintrin.h>
#if RK_VW == 16
#define RK_MR 12
#define RK_NV 2
#elif RK_VW == 8
#define RK_MR 6
#define RK_NV 2
#elif RK_FMA /* sse with the software fma: a smaller tile keeps its temporaries in registers */
#define RK_MR 4
#define RK_NV 1
#else
#define RK_MR 6
#define RK_NV 2
#endif
#define RK_NR (RK_VW * RK_NV)
#ifndef RK_KC
#define RK_KC 256
#endif
#if RK_FMA /* larger tiles: less packing per flop (tiles never change any element's order) */
#define RK_MC (RK_MR * 16)
#define RK_NCP 8
#else
#define RK_MC (RK_MR * 8)
#define RK_NCP 4 /* panels of RK_NR columns per tile */
#endif
#define RK_NC (RK_NR * RK_NCP)

typedef float vf __attribute__((vector_size(RK_VW * 4)));

static inline vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }

int rk_vector_width(void) { return RK_VW; }
int rk_has_fma_ops(void) { return RK_FMA; }

/* The kernels, in dependency order (a unity build: build.py compiles this file alone). */
#include "repkern_fma.h"
#include "repkern_threads.h"
#include "repkern_math.h"
#include "repkern_gemm.h"
#include "repkern_rows.h"

/* Which of our builds this CPU (and OS) can run: 0 sse, 1 avx2, 2 avx512 (repfma: avx2 and
 * avx512 also need FMA). Uses cpuid, so an emulator's CPU model is honoured. */
int rk_cpu_level(void) {
    __builtin_cpu_init();
#if RK_FMA
    if (!__builtin_cpu_supports("fma")) return 0; /* the repfma sse build: software fma */
#endif
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
    return 0;
}

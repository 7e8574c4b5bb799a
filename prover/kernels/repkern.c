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
#include <pthread.h>
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

/* ---------------------------------------------------------------- fma (repfma family) */
/* Correctly rounded fma(a, b, c) on doubles without an fma instruction: a*b of two floats is
 * exact in double (24 + 24 bits <= 53); s = p + c is rounded once, and TwoSum gives its exact
 * error. Rounding the exact sum straight to double and then to float could round twice; so
 * s is first turned into the round-to-odd result (when inexact and s's last bit is even, step
 * one ulp towards the exact value), whose one rounding to float is then correct because
 * 53 >= 24 + 2 bits. Non-finite s (inf/nan operands) is passed through unchanged. */
static inline __m128d rk_round_to_odd2(__m128d p, __m128d c) {
    const __m128d zero = _mm_setzero_pd();
    const __m128i one = _mm_set1_epi64x(1);
    __m128d s = _mm_add_pd(p, c);
    __m128d bv = _mm_sub_pd(s, p);
    __m128d err = _mm_add_pd(_mm_sub_pd(p, _mm_sub_pd(s, bv)), _mm_sub_pd(c, bv));
    __m128i bits = _mm_castpd_si128(s);
    /* adjust where inexact, finite and even: +1 (grow |s|) when err and s have the same sign,
     * else -1; masks from double compares and integer and/xor/add (SSE2 has no 64-bit
     * integer compare) */
    __m128i inexact = _mm_castpd_si128(_mm_cmpneq_pd(err, zero));
    __m128i finite = _mm_castpd_si128(_mm_cmpeq_pd(_mm_sub_pd(s, s), zero));
    __m128i even = _mm_sub_epi64(_mm_setzero_si128(), _mm_xor_si128(_mm_and_si128(bits, one), one));
    __m128i shrink = _mm_castpd_si128(_mm_xor_pd(_mm_cmpgt_pd(err, zero), _mm_cmpgt_pd(s, zero)));
    __m128i step = _mm_add_epi64(_mm_add_epi64(shrink, shrink), one);
    __m128i adjust = _mm_and_si128(_mm_and_si128(inexact, finite), _mm_and_si128(even, step));
    return _mm_castsi128_pd(_mm_add_epi64(bits, adjust));
}

static inline __m128 rk_fma4_soft(__m128 a, __m128 b, __m128 c) {
    __m128d lo = rk_round_to_odd2(_mm_mul_pd(_mm_cvtps_pd(a), _mm_cvtps_pd(b)), _mm_cvtps_pd(c));
    __m128 ah = _mm_movehl_ps(a, a), bh = _mm_movehl_ps(b, b), ch = _mm_movehl_ps(c, c);
    __m128d hi = rk_round_to_odd2(_mm_mul_pd(_mm_cvtps_pd(ah), _mm_cvtps_pd(bh)), _mm_cvtps_pd(ch));
    return _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi));
}

static inline vf rk_vfma_soft(vf a, vf b, vf c) {
    __m128 qa[RK_VW / 4], qb[RK_VW / 4], qc[RK_VW / 4];
    memcpy(qa, &a, sizeof a);
    memcpy(qb, &b, sizeof b);
    memcpy(qc, &c, sizeof c);
    for (int i = 0; i < RK_VW / 4; i++) qa[i] = rk_fma4_soft(qa[i], qb[i], qc[i]);
    memcpy(&a, qa, sizeof a);
    return a;
}

#if RK_FMA
/* The hardware instruction (avx2, avx512) or the exact software one (sse): same bits. */
static inline vf rk_vfma(vf a, vf b, vf c) {
#if RK_VW == 16
    return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif RK_VW == 8
    return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return rk_vfma_soft(a, b, c);
#endif
}
#endif

typedef int32_t vi __attribute__((vector_size(RK_VW * 4)));
/* a in every lane (one broadcast instruction). */
static inline vf rk_splat(float a) { return __builtin_shuffle((vf){a}, (vi){0}); }

/* out[i] = fma(a[i], b[i], c[i]) as this build computes it (hw), and always by the software
 * path (sw); exposed so tests compare both with an independent exact reference. */
void rk_fma_buf(int64_t n, const float *a, const float *b, const float *c, float *out, int sw) {
    int64_t i = 0;
    for (; i + RK_VW <= n; i += RK_VW) {
        vf r;
#if RK_FMA
        r = sw ? rk_vfma_soft(vload(a + i), vload(b + i), vload(c + i))
               : rk_vfma(vload(a + i), vload(b + i), vload(c + i));
#else
        r = rk_vfma_soft(vload(a + i), vload(b + i), vload(c + i));
        (void)sw;
#endif
        vstore(out + i, r);
    }
    if (i < n) {
        float ta[RK_VW] = {0}, tb[RK_VW] = {0}, tc[RK_VW] = {0}, to[RK_VW];
        memcpy(ta, a + i, sizeof(float) * (size_t)(n - i));
        memcpy(tb, b + i, sizeof(float) * (size_t)(n - i));
        memcpy(tc, c + i, sizeof(float) * (size_t)(n - i));
        rk_fma_buf(RK_VW, ta, tb, tc, to, sw);
        memcpy(out + i, to, sizeof(float) * (size_t)(n - i));
    }
}

/* ---------------------------------------------------------------- threads */
typedef void (*rk_task_fn)(void *ctx, int64_t begin, int64_t end);
typedef struct { rk_task_fn fn; void *ctx; int64_t begin, end; } rk_job;

static void *rk_run_job(void *p) { rk_job *j = p; if (j->end > j->begin) j->fn(j->ctx, j->begin, j->end); return NULL; }

/* A persistent pool: workers 1..size sleep on a condition variable between calls, so a call
 * costs a wake-up instead of a thread creation. One call uses the pool at a time (call_mu); a
 * call that finds it busy (another caller thread) starts its own threads as before. Workers
 * are not inherited by a forked child: the child handler empties the pool. */
#define RK_MAXT 64
static struct {
    pthread_mutex_t call_mu, mu;
    pthread_cond_t go, done;
    int size, pending;
    uint64_t gen, start_gen[RK_MAXT];
    rk_job jobs[RK_MAXT];
} rk_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
             PTHREAD_COND_INITIALIZER, 0, 0, 0, {0}, {{0}}};
static pthread_once_t rk_pool_once = PTHREAD_ONCE_INIT;

static void rk_pool_after_fork(void) {
    pthread_mutex_init(&rk_pool.call_mu, NULL);
    pthread_mutex_init(&rk_pool.mu, NULL);
    pthread_cond_init(&rk_pool.go, NULL);
    pthread_cond_init(&rk_pool.done, NULL);
    rk_pool.size = 0;
    rk_pool.pending = 0;
}

static void rk_pool_register(void) { pthread_atfork(NULL, NULL, rk_pool_after_fork); }

static void *rk_pool_worker(void *arg) {
    const int id = (int)(intptr_t)arg;
    pthread_mutex_lock(&rk_pool.mu);
    uint64_t seen = rk_pool.start_gen[id];
    for (;;) {
        while (rk_pool.gen == seen) pthread_cond_wait(&rk_pool.go, &rk_pool.mu);
        seen = rk_pool.gen;
        rk_job job = rk_pool.jobs[id];
        pthread_mutex_unlock(&rk_pool.mu);
        rk_run_job(&job);
        pthread_mutex_lock(&rk_pool.mu);
        if (--rk_pool.pending == 0) pthread_cond_signal(&rk_pool.done);
    }
    return NULL;
}

/* Grows the pool to `want` workers (call_mu held); returns how many it has. */
static int rk_pool_grow(int want) {
    pthread_once(&rk_pool_once, rk_pool_register);
    while (rk_pool.size < want) {
        int id = rk_pool.size + 1;
        rk_pool.start_gen[id] = rk_pool.gen; /* gen cannot move before the worker waits */
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&tid, &attr, rk_pool_worker, (void *)(intptr_t)id) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) break;
        rk_pool.size = id;
    }
    return rk_pool.size;
}

static void rk_spawn(int threads, rk_job *jobs) {
    pthread_t tid[RK_MAXT];
    int started[RK_MAXT] = {0};
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, rk_run_job, &jobs[t]) == 0;
    rk_run_job(&jobs[0]);
    for (int t = 1; t < threads; t++) { if (started[t]) pthread_join(tid[t], NULL); else rk_run_job(&jobs[t]); }
}

/* Runs fn over [0, n) split into `threads` contiguous ranges; the split never changes results
 * because every task writes outputs that no other task touches, computed the same way. */
static void rk_parallel(int threads, int64_t n, rk_task_fn fn, void *ctx) {
    if (threads < 1) threads = 1;
    if (threads > n) threads = (int)(n > 0 ? n : 1);
    if (threads == 1) { if (n > 0) fn(ctx, 0, n); return; }
    if (threads > RK_MAXT - 1) threads = RK_MAXT - 1;
    rk_job jobs[RK_MAXT];
    for (int t = 0; t < threads; t++) {
        jobs[t].fn = fn; jobs[t].ctx = ctx;
        jobs[t].begin = n * t / threads; jobs[t].end = n * (t + 1) / threads;
    }
    if (pthread_mutex_trylock(&rk_pool.call_mu) != 0) { rk_spawn(threads, jobs); return; }
    int size = rk_pool_grow(threads - 1);
    pthread_mutex_lock(&rk_pool.mu);
    for (int id = 1; id <= size; id++) {
        rk_job none = {fn, ctx, 0, 0};
        rk_pool.jobs[id] = id < threads ? jobs[id] : none;
    }
    rk_pool.pending = size;
    rk_pool.gen++;
    pthread_cond_broadcast(&rk_pool.go);
    pthread_mutex_unlock(&rk_pool.mu);
    rk_run_job(&jobs[0]);
    for (int t = size + 1; t < threads; t++) rk_run_job(&jobs[t]); /* workers that failed to start */
    pthread_mutex_lock(&rk_pool.mu);
    while (rk_pool.pending > 0) pthread_cond_wait(&rk_pool.done, &rk_pool.mu);
    pthread_mutex_unlock(&rk_pool.mu);
    pthread_mutex_unlock(&rk_pool.call_mu);
}

/* ---------------------------------------------------------------- GEMM */
typedef struct {
    int64_t nb1, nb2, M, N, K;
    const float *A; int64_t sa1, sa2, sam, sak;
    const float *B; int64_t sb1, sb2, sbk, sbn;
    const float *bias;
    float *C; /* contiguous [nb1, nb2, M, N] */
    int64_t tiles_m, tiles_n;
} rk_gemm_args;

/* acc tile (MR x NR) at c (row stride ldc) <- (first ? 0 : c) + sum_k pa[k][r] * pb[k][j]. */
static void rk_micro(int64_t kc, const float *pa, const float *pb, float *c, int64_t ldc, int first) {
    vf acc[RK_MR][RK_NV];
#pragma GCC unroll 16
    for (int r = 0; r < RK_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < RK_NV; v++) acc[r][v] = first ? (vf){0} : vload(c + r * ldc + v * RK_VW);
    for (int64_t k = 0; k < kc; k++) {
        vf b[RK_NV];
#pragma GCC unroll 4
        for (int v = 0; v < RK_NV; v++) b[v] = vload(pb + k * RK_NR + v * RK_VW);
#pragma GCC unroll 16
        for (int r = 0; r < RK_MR; r++) {
#if RK_FMA
            vf a = rk_splat(pa[k * RK_MR + r]);
#pragma GCC unroll 4
            for (int v = 0; v < RK_NV; v++) acc[r][v] = rk_vfma(a, b[v], acc[r][v]);
#else
            float a = pa[k * RK_MR + r];
#pragma GCC unroll 4
            for (int v = 0; v < RK_NV; v++) { vf p = a * b[v]; acc[r][v] = acc[r][v] + p; }
#endif
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < RK_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < RK_NV; v++) vstore(c + r * ldc + v * RK_VW, acc[r][v]);
}

static void rk_gemm_tiles(void *vctx, int64_t begin, int64_t end) {
    const rk_gemm_args *g = vctx;
    float *pa = aligned_alloc(64, sizeof(float) * RK_MC * RK_KC);
    float *pb = aligned_alloc(64, sizeof(float) * RK_NC * RK_KC);
    float ct[RK_MR * RK_NR] __attribute__((aligned(64)));
    const int64_t per_batch = g->tiles_m * g->tiles_n;
    for (int64_t t = begin; t < end; t++) {
        int64_t b = t / per_batch, rem = t % per_batch;
        int64_t jt = rem / g->tiles_m, it = rem % g->tiles_m; /* row tiles inner */
        int64_t b1 = b / g->nb2, b2 = b % g->nb2;
        const float *A = g->A + b1 * g->sa1 + b2 * g->sa2;
        const float *B = g->B + b1 * g->sb1 + b2 * g->sb2;
        float *C = g->C + b * g->M * g->N;
        int64_t i0 = it * RK_MC, mc = g->M - i0 < RK_MC ? g->M - i0 : RK_MC;
        int64_t j0 = jt * RK_NC, nc = g->N - j0 < RK_NC ? g->N - j0 : RK_NC;
        int64_t mpan = (mc + RK_MR - 1) / RK_MR, npan = (nc + RK_NR - 1) / RK_NR;
        for (int64_t k0 = 0; k0 < g->K || k0 == 0; k0 += RK_KC) {
            int64_t kc = g->K - k0 < RK_KC ? g->K - k0 : RK_KC;
            int first = k0 == 0;
            /* pack B[k0:k0+kc, j0:j0+nc] as panels [npan][kc][NR], zero padded; data
             * movement only, so the loop order is chosen for the memory layout */
            for (int64_t p = 0; p < npan; p++) {
                int64_t jb = j0 + p * RK_NR, cols = j0 + nc - jb < RK_NR ? j0 + nc - jb : RK_NR;
                float *dst = pb + p * kc * RK_NR;
                if (cols == RK_NR && g->sbn == 1) { /* row-major B: rows of NR floats */
                    for (int64_t k = 0; k < kc; k++)
                        memcpy(dst + k * RK_NR, B + (k0 + k) * g->sbk + jb, sizeof(float) * RK_NR);
                } else if (cols == RK_NR && g->sbk == 1) { /* B^T row-major (linear weights) */
                    for (int64_t j = 0; j < RK_NR; j++) {
                        const float *src = B + (jb + j) * g->sbn + k0;
                        for (int64_t k = 0; k < kc; k++) dst[k * RK_NR + j] = src[k];
                    }
                } else {
                    for (int64_t k = 0; k < kc; k++) {
                        const float *src = B + (k0 + k) * g->sbk;
                        for (int64_t j = 0; j < RK_NR; j++)
                            dst[k * RK_NR + j] = j < cols ? src[(jb + j) * g->sbn] : 0.0f;
                    }
                }
            }
            /* pack A[i0:i0+mc, k0:k0+kc] as panels [mpan][kc][MR], zero padded */
            for (int64_t p = 0; p < mpan; p++) {
                int64_t rows = i0 + mc - (i0 + p * RK_MR);
                if (rows > RK_MR) rows = RK_MR;
                float *dst = pa + p * kc * RK_MR;
                const float *src = A + (i0 + p * RK_MR) * g->sam + k0 * g->sak;
                if (g->sak == 1 && rows == RK_MR) {
                    for (int64_t r = 0; r < RK_MR; r++)
                        for (int64_t k = 0; k < kc; k++) dst[k * RK_MR + r] = src[r * g->sam + k];
                } else {
                    for (int64_t k = 0; k < kc; k++)
                        for (int64_t r = 0; r < RK_MR; r++)
                            dst[k * RK_MR + r] = r < rows ? src[r * g->sam + k * g->sak] : 0.0f;
                }
            }
            for (int64_t q = 0; q < npan; q++)
                for (int64_t p = 0; p < mpan; p++) {
                    int64_t ib = i0 + p * RK_MR, jb = j0 + q * RK_NR;
                    int64_t mr = g->M - ib < RK_MR ? g->M - ib : RK_MR;
                    int64_t nr = g->N - jb < RK_NR ? g->N - jb : RK_NR;
                    float *c = C + ib * g->N + jb;
                    if (mr == RK_MR && nr == RK_NR) {
                        rk_micro(kc, pa + p * kc * RK_MR, pb + q * kc * RK_NR, c, g->N, first);
                    } else {
                        if (!first)
                            for (int64_t r = 0; r < mr; r++) memcpy(ct + r * RK_NR, c + r * g->N, sizeof(float) * nr);
                        rk_micro(kc, pa + p * kc * RK_MR, pb + q * kc * RK_NR, ct, RK_NR, first);
                        for (int64_t r = 0; r < mr; r++) memcpy(c + r * g->N, ct + r * RK_NR, sizeof(float) * nr);
                    }
                }
            if (g->K == 0) break;
        }
        if (g->bias)
            for (int64_t i = i0; i < i0 + mc; i++) {
                float *c = C + i * g->N;
                for (int64_t j = j0; j < j0 + nc; j++) c[j] = c[j] + g->bias[j];
            }
    }
    free(pa);
    free(pb);
}

/* C[b1,b2] (M x N, contiguous) = A[b1,b2] (M x K) @ B[b1,b2] (K x N) (+ bias[N]); any strides. */
void rk_gemm(int64_t nb1, int64_t nb2, int64_t M, int64_t N, int64_t K,
             const float *A, int64_t sa1, int64_t sa2, int64_t sam, int64_t sak,
             const float *B, int64_t sb1, int64_t sb2, int64_t sbk, int64_t sbn,
             const float *bias, float *C, int threads) {
    rk_gemm_args g = {nb1, nb2, M, N, K, A, sa1, sa2, sam, sak, B, sb1, sb2, sbk, sbn, bias, C, 0, 0};
    if (M <= 0 || N <= 0 || nb1 <= 0 || nb2 <= 0) return;
    g.tiles_m = (M + RK_MC - 1) / RK_MC;
    g.tiles_n = (N + RK_NC - 1) / RK_NC;
    rk_parallel(threads, nb1 * nb2 * g.tiles_m * g.tiles_n, rk_gemm_tiles, &g);
}

/* ---------------------------------------------------------------- blocked sums (repfma) */
/* fsum(x[0..n)): blocks of RK_SUMBLK elements (the last one shorter). In a block, 16 lanes:
 * lane l adds the elements j = l, l+16, l+32, ... of the block in ascending j (the block
 * zero-padded to a multiple of 16), s_l = s_l + x[j] (squares: s_l = fma(x[j], x[j], s_l));
 * then r = s_0 + s_1, r = r + s_2, ..., r + s_15. One block: r is the sum. More blocks: the
 * block sums, in block order, are summed by the same rule (plain, not squared). The 16 lanes
 * are fixed (one avx512 vector, two avx2, four sse), so the order does not depend on the SIMD
 * width; threads split whole blocks, so it does not depend on the thread count either. */
#define RK_LANES 16
#define RK_SUMBLK 4096

static float rk_block_sum(const float *x, int64_t n, int square) {
    vf acc[RK_LANES / RK_VW];
    for (int v = 0; v < RK_LANES / RK_VW; v++) acc[v] = (vf){0};
    float pad[RK_LANES];
    for (int64_t j = 0; j < n; j += RK_LANES) {
        const float *src = x + j;
        if (n - j < RK_LANES) {
            memset(pad, 0, sizeof pad);
            memcpy(pad, x + j, sizeof(float) * (size_t)(n - j));
            src = pad;
        }
#pragma GCC unroll 4
        for (int v = 0; v < RK_LANES / RK_VW; v++) {
            vf e = vload(src + v * RK_VW);
#if RK_FMA
            acc[v] = square ? rk_vfma(e, e, acc[v]) : acc[v] + e;
#else
            vf sq = e * e;
            acc[v] = acc[v] + (square ? sq : e);
#endif
        }
    }
    float lanes[RK_LANES];
    for (int v = 0; v < RK_LANES / RK_VW; v++) vstore(lanes + v * RK_VW, acc[v]);
    float r = lanes[0];
    for (int l = 1; l < RK_LANES; l++) r = r + lanes[l];
    return r;
}

typedef struct { const float *x; float *partial; int64_t n, nblocks; int square; } rk_fsum_args;

static void rk_fsum_blocks(void *vctx, int64_t begin, int64_t end) {
    const rk_fsum_args *a = vctx;
    for (int64_t t = begin; t < end; t++) {
        int64_t row = t / a->nblocks, blk = t % a->nblocks;
        int64_t j0 = blk * RK_SUMBLK, len = a->n - j0 < RK_SUMBLK ? a->n - j0 : RK_SUMBLK;
        a->partial[t] = rk_block_sum(a->x + row * a->n + j0, len, a->square);
    }
}

/* y[i] = fsum of row i of x[rows, n] (of its squares when square != 0); x contiguous. */
void rk_fsum(int64_t rows, int64_t n, const float *x, float *y, int square, int threads) {
    if (rows <= 0) return;
    if (n <= 0) { for (int64_t i = 0; i < rows; i++) y[i] = 0.0f; return; }
    int64_t nblocks = (n + RK_SUMBLK - 1) / RK_SUMBLK;
    if (nblocks == 1) { /* one block per row: the block sum is the result */
        rk_fsum_args a = {x, y, n, 1, square};
        rk_parallel(threads, rows, rk_fsum_blocks, &a);
        return;
    }
    float *partial = malloc(sizeof(float) * (size_t)(rows * nblocks));
    rk_fsum_args a = {x, partial, n, nblocks, square};
    rk_parallel(threads, rows * nblocks, rk_fsum_blocks, &a);
    rk_fsum(rows, nblocks, partial, y, 0, threads);
    free(partial);
}

/* ---------------------------------------------------------------- exp, erf (fixed polynomials) */
static inline float rk_bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t rk_float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* exp(x): Cody-Waite reduction by ln2 and a degree-6 Cephes polynomial; 0 below -87.33654 and
 * +inf above 88.72283. Only add, sub, mul, selects and bit moves, written without branches so
 * the compiler vectorizes loops over it: the same bits in every build and in the scalar tail. */
static inline float rk_exp(float x) {
    const float lo = -87.33654f, hi = 88.72283f;
    float xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t ni = (int32_t)n;               /* in [-126, 128] after the clamp */
    int32_t n1 = ni / 2, n2 = ni - n1;     /* 2^n as 2^n1 * 2^n2: both in normal range */
    y = y * rk_bits_to_float((uint32_t)(n1 + 127) << 23);
    y = y * rk_bits_to_float((uint32_t)(n2 + 127) << 23);
    y = x < lo ? 0.0f : y;
    y = x > hi ? INFINITY : y;
    return x != x ? x : y;
}

/* erf(x): Taylor series to x^17 for |x| < 0.84375; above, Abramowitz & Stegun 7.1.26,
 * 1 - t*q(t)*exp(-x*x) with t = 1/(1 + 0.3275911|x|); 1 from |x| >= 4. |error| < 3e-7.
 * Both branches are computed and one selected (no jumps, so loops vectorize). */
static inline float rk_erf(float x) {
    float ax = fabsf(x);
    float z = x * x;
    float p = 1.64621144e-06f;
    p = p * z + -1.49256504e-05f;
    p = p * z + 1.20553330e-04f;
    p = p * z + -8.54832702e-04f;
    p = p * z + 5.22397763e-03f;
    p = p * z + -2.68661706e-02f;
    p = p * z + 1.12837917e-01f;
    p = p * z + -3.76126389e-01f;
    p = p * z + 1.12837917e+00f;
    float small = x * p;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float q = 1.061405429f;
    q = q * t + -1.453152027f;
    q = q * t + 1.421413741f;
    q = q * t + -0.284496736f;
    q = q * t + 0.254829592f;
    float big = 1.0f - (q * t) * rk_exp(-z);
    big = ax >= 4.0f ? 1.0f : big;
    big = x < 0.0f ? -big : big;
    return ax < 0.84375f ? small : big;
}

/* ---------------------------------------------------------------- layer norm over the last dim */
typedef struct { const float *x, *w, *b; float *y, *mean, *rstd; float eps; int64_t n; } rk_ln_args;
typedef struct { const float *x, *w, *mean, *rstd, *dy; float *dx; int64_t n; } rk_ln_bwd_args;

static void rk_ln_rows(void *vctx, int64_t begin, int64_t end) {
    const rk_ln_args *a = vctx;
    const int64_t n = a->n;
    for (int64_t i = begin; i < end; i++) {
        const float *x = a->x + i * n;
        float *y = a->y + i * n;
        float s = 0.0f;
        for (int64_t j = 0; j < n; j++) s = s + x[j];
        float mu = s / (float)n;
        float v = 0.0f;
        for (int64_t j = 0; j < n; j++) { float d = x[j] - mu; v = v + d * d; }
        float rs = 1.0f / sqrtf(v / (float)n + a->eps); /* sqrtss + divss: correctly rounded */
        a->mean[i] = mu;
        a->rstd[i] = rs;
        for (int64_t j = 0; j < n; j++) {
            float h = (x[j] - mu) * rs;
            y[j] = a->w ? h * a->w[j] + a->b[j] : h;
        }
    }
}

/* y = (x - mean) * rstd * w + b per row; saves mean and rstd (one per row). */
void rk_layernorm(int64_t rows, int64_t n, const float *x, const float *w, const float *b, float eps,
                  float *y, float *mean, float *rstd, int threads) {
    rk_ln_args a = {x, w, b, y, mean, rstd, eps, n};
    rk_parallel(threads, rows, rk_ln_rows, &a);
}

static void rk_ln_bwd_rows(void *vctx, int64_t begin, int64_t end) {
    const rk_ln_bwd_args *a = vctx;
    const int64_t n = a->n;
    for (int64_t i = begin; i < end; i++) {
        const float *x = a->x + i * n, *dy = a->dy + i * n;
        float *dx = a->dx + i * n;
        const float mu = a->mean[i], rs = a->rstd[i];
        float s1 = 0.0f, s2 = 0.0f;
        for (int64_t j = 0; j < n; j++) {
            float g = a->w ? dy[j] * a->w[j] : dy[j];
            float h = (x[j] - mu) * rs;
            s1 = s1 + g;
            s2 = s2 + g * h;
        }
        float m1 = s1 / (float)n, m2 = s2 / (float)n;
        for (int64_t j = 0; j < n; j++) {
            float g = a->w ? dy[j] * a->w[j] : dy[j];
            float h = (x[j] - mu) * rs;
            dx[j] = (g - m1 - h * m2) * rs;
        }
    }
}

/* Column sums for dw, db: split by column blocks, rows ascending inside. */
typedef struct { const float *x, *dy, *mean, *rstd; float *dw, *db; int64_t rows, n; } rk_ln_cols_args;
#define RK_COLBLK 64
static void rk_ln_bwd_cols(void *vctx, int64_t begin, int64_t end) {
    const rk_ln_cols_args *a = vctx;
    for (int64_t cb = begin; cb < end; cb++) {
        int64_t j0 = cb * RK_COLBLK, j1 = j0 + RK_COLBLK < a->n ? j0 + RK_COLBLK : a->n;
        for (int64_t j = j0; j < j1; j++) { a->dw[j] = 0.0f; a->db[j] = 0.0f; }
        for (int64_t i = 0; i < a->rows; i++) {
            const float *x = a->x + i * a->n, *dy = a->dy + i * a->n;
            const float mu = a->mean[i], rs = a->rstd[i];
            for (int64_t j = j0; j < j1; j++) {
                float h = (x[j] - mu) * rs;
                a->dw[j] = a->dw[j] + dy[j] * h;
                a->db[j] = a->db[j] + dy[j];
            }
        }
    }
}

/* dx (and dw, db when w is given) of rk_layernorm. */
void rk_layernorm_backward(int64_t rows, int64_t n, const float *x, const float *w, const float *mean,
                           const float *rstd, const float *dy, float *dx, float *dw, float *db, int threads) {
    rk_ln_bwd_args a = {x, w, mean, rstd, dy, dx, n};
    rk_parallel(threads, rows, rk_ln_bwd_rows, &a);
    if (dw) {
        rk_ln_cols_args c = {x, dy, mean, rstd, dw, db, rows, n};
        rk_parallel(threads, (n + RK_COLBLK - 1) / RK_COLBLK, rk_ln_bwd_cols, &c);
    }
}

/* ---------------------------------------------------------------- GELU (erf form) */
typedef struct { const float *x, *dy; float *y, *dx; } rk_ew_args; /* y forward, dx backward */
#define RK_EWBLK 4096
static void rk_gelu_blk(void *vctx, int64_t begin, int64_t end) {
    const rk_ew_args *a = vctx;
    for (int64_t i = begin; i < end; i++) {
        float v = a->x[i];
        a->y[i] = 0.5f * v * (1.0f + rk_erf(v * 0.70710678118654752f));
    }
}
static void rk_gelu_bwd_blk(void *vctx, int64_t begin, int64_t end) {
    const rk_ew_args *a = vctx;
    for (int64_t i = begin; i < end; i++) {
        float v = a->x[i];
        float cdf = 0.5f * (1.0f + rk_erf(v * 0.70710678118654752f));
        float pdf = rk_exp(-0.5f * (v * v)) * 0.39894228040143268f;
        a->dx[i] = a->dy[i] * (cdf + v * pdf);
    }
}
typedef struct { rk_task_fn fn; void *inner; int64_t n; } rk_chunk_args;
static void rk_ew_chunks(void *vctx, int64_t begin, int64_t end) {
    const rk_chunk_args *c = vctx;
    for (int64_t b = begin; b < end; b++) {
        int64_t i0 = b * RK_EWBLK, i1 = i0 + RK_EWBLK < c->n ? i0 + RK_EWBLK : c->n;
        c->fn(c->inner, i0, i1);
    }
}

void rk_gelu(int64_t n, const float *x, float *y, int threads) {
    rk_ew_args a = {x, NULL, y, NULL};
    rk_chunk_args c = {rk_gelu_blk, &a, n};
    rk_parallel(threads, (n + RK_EWBLK - 1) / RK_EWBLK, rk_ew_chunks, &c);
}

void rk_gelu_backward(int64_t n, const float *x, const float *dy, float *dx, int threads) {
    rk_ew_args a = {x, dy, NULL, dx};
    rk_chunk_args c = {rk_gelu_bwd_blk, &a, n};
    rk_parallel(threads, (n + RK_EWBLK - 1) / RK_EWBLK, rk_ew_chunks, &c);
}

/* exp over a buffer (exposed for tests and for the loss code). */
void rk_exp_buf(int64_t n, const float *x, float *y) { for (int64_t i = 0; i < n; i++) y[i] = rk_exp(x[i]); }
void rk_erf_buf(int64_t n, const float *x, float *y) { for (int64_t i = 0; i < n; i++) y[i] = rk_erf(x[i]); }

/* ---------------------------------------------------------------- log, log-softmax (repcpu-2) */
/* log(x): exponent by bit moves, mantissa m in [sqrt(1/2), sqrt(2)), Cephes' degree-9
 * polynomial in f = m - 1 and ln2 split in two (relative error < 2e-7). Subnormals are scaled
 * by 2^23 first; log(0) = -inf, log(x < 0) = NaN, log(inf) = inf. Branch-free like rk_exp. */
static inline float rk_log(float x) {
    int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x;
    uint32_t u = rk_float_to_bits(xs);
    int32_t e = (int32_t)((u >> 23) & 0xff) - 127 - (sub ? 23 : 0);
    float m = rk_bits_to_float((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e = big ? e + 1 : e;
    float f = m - 1.0f;
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f + -1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f + -1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f + -1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f + -2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = (y * f) * z;
    float fe = (float)e;
    y = y + fe * -2.12194440e-4f;
    y = y - 0.5f * z;
    float r = f + y;
    r = r + fe * 0.693359375f;
    r = x == 0.0f ? -INFINITY : r;
    r = x < 0.0f ? NAN : r;
    r = x == INFINITY ? x : r;
    return x != x ? x : r;
}

void rk_log_buf(int64_t n, const float *x, float *y) { for (int64_t i = 0; i < n; i++) y[i] = rk_log(x[i]); }

/* ---------------------------------------------------------------- softmax, log-softmax */
/* One row kernel for both, over the last dim of contiguous [rows, n] buffers:
 *   m = max_j x[j] (exact in any order; 0 if every x is -inf); e[j] = exp(x[j] - m);
 *   s = e[0] + e[1] + ... ascending;
 *   softmax: y[j] = e[j] / s           log-softmax: y[j] = (x[j] - m) - log(s)
 * Backward, from the forward output y and the incoming gradient dy:
 *   softmax: s = sum_j dy[j] * y[j] ascending;  dx[j] = y[j] * (dy[j] - s)
 *   log-softmax: s = sum_j dy[j] ascending;     dx[j] = dy[j] - exp(y[j]) * s */
typedef enum { RK_ROW_SOFTMAX = 0, RK_ROW_LOGSOFTMAX = 1 } rk_row_kind;
typedef struct { const float *x; float *y; int64_t n; rk_row_kind kind; } rk_row_fwd_args;
typedef struct { const float *y, *dy; float *dx; int64_t n; rk_row_kind kind; } rk_row_bwd_args;

static void rk_softmax_fwd_rows(void *vctx, int64_t begin, int64_t end) {
    const rk_row_fwd_args *a = vctx;
    const int64_t n = a->n;
    for (int64_t i = begin; i < end; i++) {
        const float *x = a->x + i * n;
        float *y = a->y + i * n;
        float m = -INFINITY;
        for (int64_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
        if (m == -INFINITY) m = 0.0f;
        for (int64_t j = 0; j < n; j++) y[j] = rk_exp(x[j] - m);
        float s = 0.0f;
        for (int64_t j = 0; j < n; j++) s = s + y[j]; /* ascending */
        if (a->kind == RK_ROW_LOGSOFTMAX) {
            float l = rk_log(s);
            for (int64_t j = 0; j < n; j++) y[j] = (x[j] - m) - l;
        } else {
            for (int64_t j = 0; j < n; j++) y[j] = y[j] / s;
        }
    }
}

static void rk_softmax_bwd_rows(void *vctx, int64_t begin, int64_t end) {
    const rk_row_bwd_args *a = vctx;
    const int64_t n = a->n;
    for (int64_t i = begin; i < end; i++) {
        const float *y = a->y + i * n, *dy = a->dy + i * n;
        float *dx = a->dx + i * n;
        float s = 0.0f;
        if (a->kind == RK_ROW_LOGSOFTMAX) {
            for (int64_t j = 0; j < n; j++) s = s + dy[j]; /* ascending */
            for (int64_t j = 0; j < n; j++) dx[j] = dy[j] - rk_exp(y[j]) * s;
        } else {
            for (int64_t j = 0; j < n; j++) s = s + dy[j] * y[j]; /* ascending */
            for (int64_t j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - s);
        }
    }
}

static void rk_row_forward(rk_row_kind kind, int64_t rows, int64_t n, const float *x, float *y,
                           int threads) {
    rk_row_fwd_args a = {x, y, n, kind};
    rk_parallel(threads, rows, rk_softmax_fwd_rows, &a);
}

static void rk_row_backward(rk_row_kind kind, int64_t rows, int64_t n, const float *y,
                            const float *dy, float *dx, int threads) {
    rk_row_bwd_args a = {y, dy, dx, n, kind};
    rk_parallel(threads, rows, rk_softmax_bwd_rows, &a);
}

void rk_softmax(int64_t rows, int64_t n, const float *x, float *y, int threads) {
    rk_row_forward(RK_ROW_SOFTMAX, rows, n, x, y, threads);
}

void rk_softmax_backward(int64_t rows, int64_t n, const float *y, const float *dy, float *dx,
                         int threads) {
    rk_row_backward(RK_ROW_SOFTMAX, rows, n, y, dy, dx, threads);
}

void rk_logsoftmax(int64_t rows, int64_t n, const float *x, float *y, int threads) {
    rk_row_forward(RK_ROW_LOGSOFTMAX, rows, n, x, y, threads);
}

void rk_logsoftmax_backward(int64_t rows, int64_t n, const float *y, const float *dy, float *dx,
                            int threads) {
    rk_row_backward(RK_ROW_LOGSOFTMAX, rows, n, y, dy, dx, threads);
}

/* ---------------------------------------------------------------- AdamW update (repcpu-2) */
/* Per element, in this order (every scalar computed by the caller in double, rounded once):
 *   p = p * decay;  m = m * b1 + g * omb1;  v = v * b2 + (g * g) * omb2;
 *   p = p - step_size * (m / (sqrt(v) / bc2_sqrt + eps))
 * sqrt is the correctly rounded instruction (sqrtss/sqrtps): same bits in every build. */
typedef struct {
    float *p, *m, *v; const float *g; float decay, b1, omb1, b2, omb2, step_size, bc2_sqrt, eps;
} rk_adamw_args;

static void rk_adamw_blk(void *vctx, int64_t begin, int64_t end) {
    const rk_adamw_args *a = vctx;
    for (int64_t i = begin; i < end; i++) {
        float g = a->g[i];
        float p = a->p[i] * a->decay;
        float m = a->m[i] * a->b1 + g * a->omb1;
        float v = a->v[i] * a->b2 + (g * g) * a->omb2;
        float d = sqrtf(v) / a->bc2_sqrt + a->eps;
        a->p[i] = p - a->step_size * (m / d);
        a->m[i] = m;
        a->v[i] = v;
    }
}

void rk_adamw(int64_t n, float *p, float *m, float *v, const float *g, float decay, float b1,
              float omb1, float b2, float omb2, float step_size, float bc2_sqrt, float eps,
              int threads) {
    rk_adamw_args a = {p, m, v, g, decay, b1, omb1, b2, omb2, step_size, bc2_sqrt, eps};
    rk_chunk_args c = {rk_adamw_blk, &a, n};
    rk_parallel(threads, (n + RK_EWBLK - 1) / RK_EWBLK, rk_ew_chunks, &c);
}

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

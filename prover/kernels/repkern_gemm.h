/* Part of repkern.c (one translation unit, included once): GEMM and the blocked sums. */
#ifndef RK_GEMM_H
#define RK_GEMM_H

/* ---------------------------------------------------------------- GEMM */
typedef struct {
    int64_t nb1, nb2, M, N, K;
    const float *A; int64_t sa1, sa2, sam, sak;
    const float *B; int64_t sb1, sb2, sbk, sbn;
    const float *bias;
    float *C; /* contiguous [nb1, nb2, M, N] */
    int64_t tiles_m, tiles_n, tm, tn; /* tile counts and sizes (tm <= RK_MC, tn <= RK_NC) */
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
        int64_t i0 = it * g->tm, mc = g->M - i0 < g->tm ? g->M - i0 : g->tm;
        int64_t j0 = jt * g->tn, nc = g->N - j0 < g->tn ? g->N - j0 : g->tn;
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
    rk_gemm_args g = {nb1, nb2, M, N, K, A, sa1, sa2, sam, sak, B, sb1, sb2, sbk, sbn, bias, C,
                      0, 0, 0, 0};
    if (M <= 0 || N <= 0 || nb1 <= 0 || nb2 <= 0) return;
    /* Tiles of (nearly) equal size: as few as RK_MC x RK_NC allow, then the rows and columns
     * shared out evenly in whole register panels, so threads get equal work (N = 384 in tiles
     * of 256 and 128 gave one thread twice the other's). Where a tile ends never changes any
     * element's order, so neither do these sizes. */
    g.tiles_m = (M + RK_MC - 1) / RK_MC;
    g.tiles_n = (N + RK_NC - 1) / RK_NC;
    g.tm = ((M + g.tiles_m - 1) / g.tiles_m + RK_MR - 1) / RK_MR * RK_MR;
    g.tn = ((N + g.tiles_n - 1) / g.tiles_n + RK_NR - 1) / RK_NR * RK_NR;
    g.tiles_m = (M + g.tm - 1) / g.tm;
    g.tiles_n = (N + g.tn - 1) / g.tn;
    /* a thread per 2^16 multiply-adds at least (~10 us): tiny products stay on one thread */
    threads = rk_threads_for(threads, nb1 * nb2 * M * N * (K > 0 ? K : 1), (int64_t)1 << 16);
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
    threads = rk_threads_for(threads, rows * n, RK_SUMBLK * 4); /* ~4 us a block */
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
#endif

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

/* acc tile (MR x NR) at c (row stride ldc) <- (first ? 0 : c) + sum_k a(r, k) * pb[k][j], k
 * ascending, where a(r, k) = a[r * ars + k * aks]: a packed A panel (ars 1, aks MR) or the rows
 * of a row-major A read in place (ars = its row stride, aks 1). Where A comes from is data
 * movement only: every element gets the same operations in the same order. */
static inline __attribute__((always_inline)) int rk_micro_body(int64_t kc, const float *a,
        int64_t ars, int64_t aks, const float *pb, float *c, int64_t ldc, int first, int last,
        const float *bias) {
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
            vf av = rk_splat(a[r * ars + k * aks]);
#pragma GCC unroll 4
            for (int v = 0; v < RK_NV; v++) acc[r][v] = rk_vfma(av, b[v], acc[r][v]);
#else
            float av = a[r * ars + k * aks];
#pragma GCC unroll 4
            for (int v = 0; v < RK_NV; v++) { vf p = av * b[v]; acc[r][v] = acc[r][v] + p; }
#endif
        }
    }
    int nan = 0;
    if (last) { /* the K sum is complete: + bias (its own rounded add), and look for NaNs */
#pragma GCC unroll 4
        for (int v = 0; v < RK_NV && bias; v++) {
            vf bv = vload(bias + v * RK_VW);
#pragma GCC unroll 16
            for (int r = 0; r < RK_MR; r++) acc[r][v] = acc[r][v] + bv;
        }
        vi any = (vi){0};
#pragma GCC unroll 16
        for (int r = 0; r < RK_MR; r++)
#pragma GCC unroll 4
            for (int v = 0; v < RK_NV; v++) any |= acc[r][v] != acc[r][v];
        for (int l = 0; l < RK_VW; l++) nan |= any[l] != 0;
    }
#pragma GCC unroll 16
    for (int r = 0; r < RK_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < RK_NV; v++) vstore(c + r * ldc + v * RK_VW, acc[r][v]);
    return nan;
}

/* The tile from a packed A panel [kc][MR]; returns whether the finished tile holds a NaN. */
static int rk_micro(int64_t kc, const float *pa, const float *pb, float *c, int64_t ldc,
                    int first, int last, const float *bias) {
    return rk_micro_body(kc, pa, 1, RK_MR, pb, c, ldc, first, last, bias);
}

/* The tile from MR rows of a row-major A (row stride lda), read in place: packing A cost as
 * much as a sixth of a layer GEMM (a transposing copy per tile), and an MR x kc block of rows
 * stays in L1 across the tile's column panels anyway. */
static int rk_micro_rows(int64_t kc, const float *a, int64_t lda, const float *pb, float *c,
                         int64_t ldc, int first, int last, const float *bias) {
    return rk_micro_body(kc, a, lda, 1, pb, c, ldc, first, last, bias);
}

/* First NaN of (x, y), quieted, as an SSE instruction `x op y` returns it; r when neither is
 * a NaN (a number, or the default NaN of an invalid operation: that does not depend on order). */
static inline float rk_nan2(float x, float y, float r) {
    return x != x ? rk_nan_quiet(x) : y != y ? rk_nan_quiet(y) : r;
}

/* Element (i, j) of a GEMM whose fast path gave a NaN, again, one scalar step at a time with
 * each step's NaN rule applied explicitly: the fast path's SIMD code may have put a NaN operand
 * in another position (the FMA instruction's forms take c, a, b in different orders), so its
 * NaN bits depend on the build. Here they are the source order's under SSE rules, as the
 * referee computes them: repfma fma(a, b, acc) takes a's NaN, else b's, else acc's
 * (Float32.fma); repkern acc + (a * b) takes acc's, else a's, else b's; then acc + bias. */
static float rk_gemm_nan(const rk_gemm_args *g, const float *A, const float *B, int64_t i,
                         int64_t j) {
    float acc = 0.0f;
    for (int64_t k = 0; k < g->K; k++) {
        float a = A[i * g->sam + k * g->sak], b = B[k * g->sbk + j * g->sbn];
#if RK_FMA
        acc = rk_nan2(a, b, acc != acc ? acc : fmaf(a, b, acc));
#else
        float p = a * b;
        acc = rk_nan2(acc, rk_nan2(a, b, p), acc + p);
#endif
    }
    if (g->bias) acc = rk_nan2(acc, g->bias[j], acc + g->bias[j]);
    return acc;
}

/* Per-thread packing buffers, grown when a call needs more and kept: the step's GEMMs need the
 * same sizes every time, and a fresh megabyte costs page faults on every call. */
static _Thread_local float *rk_buf_a, *rk_buf_b;
static _Thread_local size_t rk_cap_a, rk_cap_b;

static float *rk_scratch(float **buf, size_t *cap, size_t floats) {
    if (floats > *cap) {
        free(*buf);
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        *buf = aligned_alloc(64, bytes);
        if (!*buf) abort(); /* out of memory: nothing sensible to return */
        *cap = floats;
    }
    return *buf;
}

/* B packed for the whole K (not one K block) when it takes at most this many floats, so the
 * row tiles that follow with the same column tile reuse it instead of packing it again. */
#define RK_BKEEP ((int64_t)1 << 22)

/* pack B[k0:k0+kc, j0:j0+nc] as panels [npan][kc][NR], zero padded; data movement only, so
 * the loop order is chosen for the memory layout */
static void rk_pack_b(const rk_gemm_args *g, const float *B, int64_t k0, int64_t kc, int64_t j0,
                      int64_t nc, float *pb) {
    int64_t npan = (nc + RK_NR - 1) / RK_NR;
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
}

/* pack A[ib:ib+rows, k0:k0+kc] as a panel [kc][MR], zero padded */
static void rk_pack_a(const rk_gemm_args *g, const float *A, int64_t ib, int64_t rows,
                      int64_t k0, int64_t kc, float *dst) {
    const float *src = A + ib * g->sam + k0 * g->sak;
    if (g->sak == 1 && rows == RK_MR) {
        for (int64_t r = 0; r < RK_MR; r++)
            for (int64_t k = 0; k < kc; k++) dst[k * RK_MR + r] = src[r * g->sam + k];
    } else if (g->sam == 1 && rows == RK_MR) { /* A^T row-major (the dW GEMMs): MR in a row */
        for (int64_t k = 0; k < kc; k++)
            memcpy(dst + k * RK_MR, src + k * g->sak, sizeof(float) * RK_MR);
    } else {
        for (int64_t k = 0; k < kc; k++)
            for (int64_t r = 0; r < RK_MR; r++)
                dst[k * RK_MR + r] = r < rows ? src[r * g->sam + k * g->sak] : 0.0f;
    }
}

static void rk_gemm_tiles(void *vctx, int64_t begin, int64_t end) {
    const rk_gemm_args *g = vctx;
    const int64_t kall = g->K > 0 ? g->K : 1;
    const int keep_b = kall * RK_NC <= RK_BKEEP;
    float *pa = rk_scratch(&rk_buf_a, &rk_cap_a, (size_t)(RK_MC * RK_KC));
    float *pb = rk_scratch(&rk_buf_b, &rk_cap_b, (size_t)(RK_NC * (keep_b ? kall : RK_KC)));
    float ct[RK_MR * RK_NR] __attribute__((aligned(64)));
    const int64_t per_batch = g->tiles_m * g->tiles_n;
    int64_t packed = -1; /* (batch, column tile) whose whole-K B panels pb holds */
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
        const int reuse = keep_b && packed == b * g->tiles_n + jt;
        int nan = 0; /* a NaN among the tile's outputs */
        for (int64_t k0 = 0; k0 < g->K || k0 == 0; k0 += RK_KC) {
            int64_t kc = g->K - k0 < RK_KC ? g->K - k0 : RK_KC;
            int first = k0 == 0;
            float *pbk = pb + (keep_b ? k0 * RK_NC : 0);
            if (!reuse) rk_pack_b(g, B, k0, kc, j0, nc, pbk);
            for (int64_t p = 0; p < mpan; p++) { /* full row panels of row-major A: in place */
                int64_t ib = i0 + p * RK_MR, rows = g->M - ib < RK_MR ? g->M - ib : RK_MR;
                if (g->sak != 1 || rows != RK_MR) rk_pack_a(g, A, ib, rows, k0, kc, pa + p * kc * RK_MR);
            }
            const int last = k0 + RK_KC >= g->K;
            for (int64_t q = 0; q < npan; q++)
                for (int64_t p = 0; p < mpan; p++) {
                    int64_t ib = i0 + p * RK_MR, jb = j0 + q * RK_NR;
                    int64_t mr = g->M - ib < RK_MR ? g->M - ib : RK_MR;
                    int64_t nr = g->N - jb < RK_NR ? g->N - jb : RK_NR;
                    const float *bq = pbk + q * kc * RK_NR, *ar = A + ib * g->sam + k0;
                    const float *ap = pa + p * kc * RK_MR;
                    const int in_place = g->sak == 1 && mr == RK_MR;
                    float *c = C + ib * g->N + jb;
                    if (mr == RK_MR && nr == RK_NR) { /* bias and NaN look-out in registers */
                        const float *bias = g->bias ? g->bias + jb : NULL;
                        nan |= in_place
                            ? rk_micro_rows(kc, ar, g->sam, bq, c, g->N, first, last, bias)
                            : rk_micro(kc, ap, bq, c, g->N, first, last, bias);
                        continue;
                    }
                    if (!first)
                        for (int64_t r = 0; r < mr; r++)
                            memcpy(ct + r * RK_NR, c + r * g->N, sizeof(float) * nr);
                    if (in_place) rk_micro_rows(kc, ar, g->sam, bq, ct, RK_NR, first, 0, NULL);
                    else rk_micro(kc, ap, bq, ct, RK_NR, first, 0, NULL);
                    for (int64_t r = 0; r < mr; r++) {
                        float *cr = c + r * g->N, *tr = ct + r * RK_NR;
                        for (int64_t j = 0; j < nr; j++) {
                            float x = last && g->bias ? tr[j] + g->bias[jb + j] : tr[j];
                            nan |= last && x != x;
                            cr[j] = x;
                        }
                    }
                }
            if (g->K == 0) break;
        }
        packed = keep_b ? b * g->tiles_n + jt : -1;
        if (!nan) continue;
        for (int64_t i = i0; i < i0 + mc; i++) { /* NaNs only: rare */
            float *c = C + i * g->N;
            for (int64_t j = j0; j < j0 + nc; j++)
                if (c[j] != c[j]) c[j] = rk_gemm_nan(g, A, B, i, j);
        }
    }
}

/* ---------------------------------------------------------------- one-row GEMM */
/* M = 1 with a row-major B (the bias gradients' ones-GEMM sum_rows, a vector times a matrix):
 * the register tile above would compute MR rows for one. Here SIMD runs along the row, RK_RV
 * vectors of columns at a time (independent chains that fill the FMA pipeline); every element
 * gets the same sequence as in the tiles, acc = fma(a[k], b[k][j], acc) for k ascending (repkern:
 * acc + a[k] * b[k][j]), then + bias, a NaN walked again by rk_gemm_nan. */
#define RK_RV 8

static inline __attribute__((always_inline)) int rk_row_block(const rk_gemm_args *g,
        const float *A, const float *B, const float *bias, float *C, int64_t j, int nv) {
    vf acc[RK_RV];
    for (int v = 0; v < nv; v++) acc[v] = (vf){0};
    for (int64_t k = 0; k < g->K; k++) {
        const float *b = B + k * g->sbk + j;
#if RK_FMA
        vf a = rk_splat(A[k * g->sak]);
        for (int v = 0; v < nv; v++) acc[v] = rk_vfma(a, vload(b + v * RK_VW), acc[v]);
#else
        float a = A[k * g->sak];
        for (int v = 0; v < nv; v++) { vf p = a * vload(b + v * RK_VW); acc[v] = acc[v] + p; }
#endif
    }
    vi any = (vi){0};
    for (int v = 0; v < nv; v++) {
        if (bias) acc[v] = acc[v] + vload(bias + j + v * RK_VW);
        any |= acc[v] != acc[v];
        vstore(C + j + v * RK_VW, acc[v]);
    }
    int nan = 0;
    for (int l = 0; l < RK_VW; l++) nan |= any[l] != 0;
    return nan;
}

/* Columns of one batch's row: units of RK_RV vectors; the last unit also takes the remaining
 * vectors one at a time, and the columns after the last whole vector (their B values copied
 * into a zero-padded vector, data movement only). */
typedef struct { const rk_gemm_args *g; int64_t units; } rk_row_args;

static void rk_gemm_row_units(void *vctx, int64_t begin, int64_t end) {
    const rk_row_args *r = vctx;
    const rk_gemm_args *g = r->g;
    const int64_t unit = RK_RV * RK_VW, whole = g->N / RK_VW * RK_VW;
    for (int64_t t = begin; t < end; t++) {
        int64_t b = t / r->units, u = t % r->units;
        int64_t b1 = b / g->nb2, b2 = b % g->nb2;
        const float *A = g->A + b1 * g->sa1 + b2 * g->sa2;
        const float *B = g->B + b1 * g->sb1 + b2 * g->sb2;
        float *C = g->C + b * g->N;
        int64_t j = u * unit, stop = u == r->units - 1 ? g->N : j + unit;
        int nan = 0;
        for (; j + unit <= stop && j + unit <= whole; j += unit)
            nan |= rk_row_block(g, A, B, g->bias, C, j, RK_RV);
        for (; j + RK_VW <= whole && j < stop; j += RK_VW)
            nan |= rk_row_block(g, A, B, g->bias, C, j, 1);
        if (j < stop) { /* fewer than RK_VW columns */
            float pb[RK_VW] __attribute__((aligned(64))) = {0};
            float pc[RK_VW] __attribute__((aligned(64)));
            float pbias[RK_VW] = {0};
            int64_t cols = stop - j;
            vf acc = (vf){0};
            for (int64_t k = 0; k < g->K; k++) {
                memcpy(pb, B + k * g->sbk + j, sizeof(float) * (size_t)cols);
#if RK_FMA
                acc = rk_vfma(rk_splat(A[k * g->sak]), vload(pb), acc);
#else
                vf p = A[k * g->sak] * vload(pb);
                acc = acc + p;
#endif
            }
            if (g->bias) {
                memcpy(pbias, g->bias + j, sizeof(float) * (size_t)cols);
                acc = acc + vload(pbias);
            }
            vstore(pc, acc);
            memcpy(C + j, pc, sizeof(float) * (size_t)cols);
            nan = 1; /* cheap to look: the tail is short */
        }
        if (!nan) continue;
        for (int64_t jj = u * unit; jj < stop; jj++)
            if (C[jj] != C[jj]) C[jj] = rk_gemm_nan(g, A, B, 0, jj);
    }
}

static void rk_gemm_row(rk_gemm_args *g, int threads) {
    const int64_t unit = RK_RV * RK_VW;
    rk_row_args r = {g, (g->N + unit - 1) / unit};
    int64_t jobs = g->nb1 * g->nb2 * r.units;
    threads = rk_threads_for(threads, g->nb1 * g->nb2 * g->N * (g->K > 0 ? g->K : 1),
                             (int64_t)1 << 16);
    rk_parallel(threads, jobs, rk_gemm_row_units, &r);
}

/* C[b1,b2] (M x N, contiguous) = A[b1,b2] (M x K) @ B[b1,b2] (K x N) (+ bias[N]); any strides. */
void rk_gemm(int64_t nb1, int64_t nb2, int64_t M, int64_t N, int64_t K,
             const float *A, int64_t sa1, int64_t sa2, int64_t sam, int64_t sak,
             const float *B, int64_t sb1, int64_t sb2, int64_t sbk, int64_t sbn,
             const float *bias, float *C, int threads) {
    rk_gemm_args g = {nb1, nb2, M, N, K, A, sa1, sa2, sam, sak, B, sb1, sb2, sbk, sbn, bias, C,
                      0, 0, 0, 0};
    if (M <= 0 || N <= 0 || nb1 <= 0 || nb2 <= 0) return;
    if (M == 1 && sbn == 1) { rk_gemm_row(&g, threads); return; }
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

/* A block sum that came out NaN, again, one scalar step at a time in the documented order with
 * each step's NaN rule applied explicitly (SIMD code may hold a NaN operand in another
 * position): s_l + x takes s_l's NaN, else x's; fma(x, x, s_l) takes x's, else s_l's (as
 * Float32.fma); then r + s_l takes r's, else s_l's. The referee's order under SSE rules. */
static float rk_block_sum_nan(const float *x, int64_t n, int square) {
    float lanes[RK_LANES] = {0};
    for (int64_t j = 0; j < n; j++) {
        float *s = &lanes[j % RK_LANES], e = x[j];
#if RK_FMA
        if (square) { *s = rk_nan2(e, e, *s != *s ? *s : fmaf(e, e, *s)); continue; }
#else
        if (square) { float q = e * e; *s = rk_nan2(*s, q, *s + q); continue; }
#endif
        *s = rk_nan2(*s, e, *s + e);
    }
    float r = lanes[0];
    for (int l = 1; l < RK_LANES; l++) r = rk_nan2(r, lanes[l], r + lanes[l]);
    return r;
}

typedef struct { const float *x; float *partial; int64_t n, nblocks; int square; } rk_fsum_args;

static void rk_fsum_blocks(void *vctx, int64_t begin, int64_t end) {
    const rk_fsum_args *a = vctx;
    for (int64_t t = begin; t < end; t++) {
        int64_t row = t / a->nblocks, blk = t % a->nblocks;
        int64_t j0 = blk * RK_SUMBLK, len = a->n - j0 < RK_SUMBLK ? a->n - j0 : RK_SUMBLK;
        float r = rk_block_sum(a->x + row * a->n + j0, len, a->square);
        a->partial[t] = r == r ? r : rk_block_sum_nan(a->x + row * a->n + j0, len, a->square);
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

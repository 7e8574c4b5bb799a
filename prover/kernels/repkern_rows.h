/* Part of repkern.c (one translation unit, included once): row and elementwise kernels: layer norm, GELU, softmax, AdamW. */
#ifndef RK_ROWS_H
#define RK_ROWS_H

/* Rows of a row kernel are handled RK_RG at a time where a sum or a max runs along the row:
 * each row's chain is still its own, in ascending j, but RK_RG independent chains interleave,
 * so the adds overlap in the pipeline instead of waiting on each other (an add's latency is
 * four cycles; one row's chain of n adds was the kernel's critical path). Per row the
 * operations and their order are exactly those of the one-row loop. */
#define RK_RG 8

/* Scalar on purpose: vectorized across the rows, these loops became strided gathers that cost
 * more than the chains they overlap; scalar, the RK_RG chains fill the pipeline. */
#define RK_SCALAR __attribute__((optimize("no-tree-vectorize")))

/* m[l] = max_j x[l][j] in ascending j (exact; the first of equal values, so -0/+0 as the
 * source order gives them; NaNs never win), 0 where every x is -inf. */
static RK_SCALAR void rk_group_max(const float *x, int64_t n, int rows, float *m) {
    for (int l = 0; l < rows; l++) m[l] = -INFINITY;
    for (int64_t j = 0; j < n; j++)
        for (int l = 0; l < rows; l++) {
            float v = x[l * n + j];
            m[l] = v > m[l] ? v : m[l];
        }
    for (int l = 0; l < rows; l++) m[l] = m[l] == -INFINITY ? 0.0f : m[l];
}

/* s[l] = (((0 + y[l][0]) + y[l][1]) + ...) in ascending j, for each of the rows. */
static RK_SCALAR void rk_group_sum(const float *y, int64_t n, int rows, float *s) {
    for (int l = 0; l < rows; l++) s[l] = 0.0f;
    for (int64_t j = 0; j < n; j++)
        for (int l = 0; l < rows; l++) s[l] = s[l] + y[l * n + j];
}

/* v[l] = sum_j d * d in ascending j with d = x[l][j] - mu[l] (a rounded product, then a
 * rounded add: the layer norm's variance sum). */
static RK_SCALAR void rk_group_sum_sq(const float *x, int64_t n, int rows, const float *mu,
                                      float *v) {
    for (int l = 0; l < rows; l++) v[l] = 0.0f;
    for (int64_t j = 0; j < n; j++)
        for (int l = 0; l < rows; l++) {
            float d = x[l * n + j] - mu[l];
            v[l] = v[l] + d * d;
        }
}

/* ---------------------------------------------------------------- layer norm over the last dim */
typedef struct { const float *x, *w, *b; float *y, *mean, *rstd; float eps; int64_t n; } rk_ln_args;
typedef struct { const float *x, *w, *mean, *rstd, *dy; float *dx; int64_t n; } rk_ln_bwd_args;

static void rk_ln_rows(void *vctx, int64_t begin, int64_t end) {
    const rk_ln_args *a = vctx;
    const int64_t n = a->n;
    for (int64_t i0 = begin; i0 < end; i0 += RK_RG) {
        const int rows = end - i0 < RK_RG ? (int)(end - i0) : RK_RG;
        float mu[RK_RG], v[RK_RG];
        rk_group_sum(a->x + i0 * n, n, rows, mu);
        for (int l = 0; l < rows; l++) mu[l] = mu[l] / (float)n;
        rk_group_sum_sq(a->x + i0 * n, n, rows, mu, v);
        for (int l = 0; l < rows; l++) {
            const int64_t i = i0 + l;
            const float *x = a->x + i * n;
            float *y = a->y + i * n;
            float rs = 1.0f / sqrtf(v[l] / (float)n + a->eps); /* sqrtss + divss: correctly rounded */
            a->mean[i] = mu[l];
            a->rstd[i] = rs;
            for (int64_t j = 0; j < n; j++) {
                float h = (x[j] - mu[l]) * rs;
                y[j] = a->w ? h * a->w[j] + a->b[j] : h;
            }
        }
    }
}

/* y = (x - mean) * rstd * w + b per row; saves mean and rstd (one per row). */
void rk_layernorm(int64_t rows, int64_t n, const float *x, const float *w, const float *b, float eps,
                  float *y, float *mean, float *rstd, int threads) {
    rk_ln_args a = {x, w, b, y, mean, rstd, eps, n};
    rk_parallel(threads, rows, rk_ln_rows, &a);
}

/* (x - mu) * rs and dy * w with each step's NaN rule explicit (SSE source order, rk_nan2). */
static inline float rk_ln_h_nan(float x, float mu, float rs) {
    float d = rk_nan2(x, mu, x - mu);
    return rk_nan2(d, rs, d * rs);
}
static inline float rk_ln_g_nan(const float *w, float dy, int64_t j) {
    return w ? rk_nan2(dy, w[j], dy * w[j]) : dy;
}

/* A dx row that came out with a NaN, again, in source order with the NaN rules explicit. */
static void rk_ln_bwd_row_nan(const rk_ln_bwd_args *a, const float *x, const float *dy,
                              float *dx, float mu, float rs) {
    float s1 = 0.0f, s2 = 0.0f, nf = (float)a->n;
    for (int64_t j = 0; j < a->n; j++) {
        float g = rk_ln_g_nan(a->w, dy[j], j), h = rk_ln_h_nan(x[j], mu, rs);
        float gh = rk_nan2(g, h, g * h);
        s1 = rk_nan2(s1, g, s1 + g);
        s2 = rk_nan2(s2, gh, s2 + gh);
    }
    float m1 = rk_nan2(s1, nf, s1 / nf), m2 = rk_nan2(s2, nf, s2 / nf);
    for (int64_t j = 0; j < a->n; j++) {
        float g = rk_ln_g_nan(a->w, dy[j], j), h = rk_ln_h_nan(x[j], mu, rs);
        float u = rk_nan2(g, m1, g - m1), v = rk_nan2(h, m2, h * m2);
        float t = rk_nan2(u, v, u - v);
        dx[j] = rk_nan2(t, rs, t * rs);
    }
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
        int nan = 0;
        for (int64_t j = 0; j < n; j++) nan |= dx[j] != dx[j];
        if (nan) rk_ln_bwd_row_nan(a, x, dy, dx, mu, rs);
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
        for (int64_t j = j0; j < j1; j++) { /* a NaN column again, NaN rules explicit */
            if (a->dw[j] == a->dw[j] && a->db[j] == a->db[j]) continue;
            float dw = 0.0f, db = 0.0f;
            for (int64_t i = 0; i < a->rows; i++) {
                float d = a->dy[i * a->n + j];
                float h = rk_ln_h_nan(a->x[i * a->n + j], a->mean[i], a->rstd[i]);
                float p = rk_nan2(d, h, d * h);
                dw = rk_nan2(dw, p, dw + p);
                db = rk_nan2(db, d, db + d);
            }
            a->dw[j] = dw;
            a->db[j] = db;
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
        float y = 0.5f * v * (1.0f + rk_erf(v * 0.70710678118654752f));
        a->y[i] = v != v ? rk_nan_quiet(v) : y;
    }
}
static void rk_gelu_bwd_blk(void *vctx, int64_t begin, int64_t end) {
    const rk_ew_args *a = vctx;
    for (int64_t i = begin; i < end; i++) {
        float v = a->x[i];
        float cdf = 0.5f * (1.0f + rk_erf(v * 0.70710678118654752f));
        float pdf = rk_exp(-0.5f * (v * v)) * 0.39894228040143268f;
        float g = a->dy[i], dx = g * (cdf + v * pdf);
        /* source order under SSE rules: dy's NaN first, else cdf's (erf's |v|, quieted) */
        a->dx[i] = g != g ? rk_nan_quiet(g) : v != v ? rk_nan_erf(v) : dx;
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

/* The rows' max m and, after y[j] = exp(x[j] - m) (vectorized along the row), the sum s. */
static void rk_softmax_group(const float *x, float *y, int64_t n, int rows, float *m, float *s) {
    rk_group_max(x, n, rows, m);
    for (int l = 0; l < rows; l++) {
        const float *xr = x + l * n;
        float *yr = y + l * n;
        const float ml = m[l];
        for (int64_t j = 0; j < n; j++) yr[j] = rk_exp(xr[j] - ml);
    }
    rk_group_sum(y, n, rows, s);
}

static void rk_softmax_fwd_rows(void *vctx, int64_t begin, int64_t end) {
    const rk_row_fwd_args *a = vctx;
    const int64_t n = a->n;
    for (int64_t i0 = begin; i0 < end; i0 += RK_RG) {
        const int rows = end - i0 < RK_RG ? (int)(end - i0) : RK_RG;
        float m[RK_RG], s[RK_RG];
        rk_softmax_group(a->x + i0 * n, a->y + i0 * n, n, rows, m, s);
        for (int l = 0; l < rows; l++) {
            const float *x = a->x + (i0 + l) * n;
            float *y = a->y + (i0 + l) * n;
            const float ml = m[l], sl = s[l];
            if (a->kind == RK_ROW_LOGSOFTMAX) {
                float lg = rk_log(sl);
                for (int64_t j = 0; j < n; j++) y[j] = (x[j] - ml) - lg;
            } else {
                for (int64_t j = 0; j < n; j++) y[j] = y[j] / sl;
            }
        }
    }
}

/* A backward row that came out with a NaN, again, each step's NaN rule explicit (the SIMD
 * loop and its scalar tail may order operands differently): SSE source order, see rk_nan2. */
static void rk_softmax_bwd_row_nan(const rk_row_bwd_args *a, const float *y, const float *dy,
                                   float *dx) {
    float s = 0.0f;
    for (int64_t j = 0; j < a->n; j++) {
        float t = a->kind == RK_ROW_LOGSOFTMAX ? dy[j] : rk_nan2(dy[j], y[j], dy[j] * y[j]);
        s = rk_nan2(s, t, s + t);
    }
    for (int64_t j = 0; j < a->n; j++) {
        if (a->kind == RK_ROW_LOGSOFTMAX) {
            float e = rk_exp(y[j]), t = rk_nan2(e, s, e * s);
            dx[j] = rk_nan2(dy[j], t, dy[j] - t);
        } else {
            float d = rk_nan2(dy[j], s, dy[j] - s);
            dx[j] = rk_nan2(y[j], d, y[j] * d);
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
        int nan = 0;
        for (int64_t j = 0; j < n; j++) nan |= dx[j] != dx[j];
        if (nan) rk_softmax_bwd_row_nan(a, y, dy, dx);
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
        float g = a->g[i], p0 = a->p[i], m0 = a->m[i], v0 = a->v[i];
        float p = p0 * a->decay;
        float m = m0 * a->b1 + g * a->omb1;
        float v = v0 * a->b2 + (g * g) * a->omb2;
        float d = sqrtf(v) / a->bc2_sqrt + a->eps;
        float pn = p - a->step_size * (m / d);
        /* NaN operands in source order under SSE rules (see rk_nan_erf): m and v take their
         * old value's NaN, else g's; p its old value's, else m's, else v's (through d) */
        m = m0 != m0 ? rk_nan_quiet(m0) : g != g ? rk_nan_quiet(g) : m;
        v = v0 != v0 ? rk_nan_quiet(v0) : g != g ? rk_nan_quiet(g) : v;
        a->p[i] = p0 != p0 ? rk_nan_quiet(p0) : m != m ? m : v != v ? v : pn;
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
#endif

/* Exhaustive sweep: every one of the 2^32 inputs of a unary operation through the integer model
 * of the Solidity library (float32_model.h) against the x86 reference: the compiled kernels
 * (rk_exp_buf, rk_log_buf, rk_erf_buf, rk_gelu from build/kernels/librepkern_sse.so) or the
 * SSE instruction itself (sqrtss, cvtsi2ss, cvttss2si). Also counts where the AVX2/AVX-512
 * kernel builds differ from the SSE build.
 *   usage: float32_sweep OP THREADS LIB_DIR [START END]   (START/END: hex, END exclusive)
 *          float32_sweep model OP   (model results for little-endian uint32 operands on stdin)
 *          float32_sweep random OP N SEED   (N random cases of add/sub/mul/div/fma vs x86)
 * Prints one JSON object; progress goes to stderr. bench/float32_sweep.py builds and runs it. */
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "float32_model.h"

#define CHUNK (1u << 20)
#define KEEP 8

typedef void (*buf_fn)(int64_t, const float *, float *);
typedef void (*gelu_fn)(int64_t, const float *, float *, int);

static const char *g_op;
static uint64_t g_start, g_end, g_next;
static void *g_libs[3];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_done, g_bad, g_isa_diff[3];
static uint32_t g_first_in[KEEP], g_first_want[KEEP], g_first_got[KEEP];
static int g_kept;

static void run_kernel(void *lib, const float *x, float *y, int64_t n) {
    if (strcmp(g_op, "gelu") == 0) {
        ((gelu_fn)dlsym(lib, "rk_gelu"))(n, x, y, 1);
        return;
    }
    char name[32];
    snprintf(name, sizeof name, "rk_%s_buf", g_op);
    ((buf_fn)dlsym(lib, name))(n, x, y);
}

static void reference(const uint32_t *in, uint32_t *out, int64_t n) {
    if (strcmp(g_op, "sqrt") == 0) {
        for (int64_t i = 0; i < n; i++) {
            float a, r;
            memcpy(&a, &in[i], 4);
            __asm__("sqrtss %1, %0" : "=x"(r) : "x"(a));
            memcpy(&out[i], &r, 4);
        }
    } else if (strcmp(g_op, "fromint") == 0) {
        for (int64_t i = 0; i < n; i++) {
            float r;
            int32_t v = (int32_t)in[i];
            __asm__("cvtsi2ssl %1, %0" : "=x"(r) : "r"(v));
            memcpy(&out[i], &r, 4);
        }
    } else if (strcmp(g_op, "toint") == 0) {
        for (int64_t i = 0; i < n; i++) {
            float a;
            int32_t r;
            memcpy(&a, &in[i], 4);
            __asm__("cvttss2si %1, %0" : "=r"(r) : "x"(a));
            out[i] = (uint32_t)r;
        }
    } else {
        run_kernel(g_libs[0], (const float *)in, (float *)out, n);
    }
}

static uint32_t model(uint32_t x) {
    switch (g_op[0]) {
    case 's': return m_sqrt(x);
    case 'e': return g_op[1] == 'x' ? m_exp(x) : m_erf(x);
    case 'l': return m_log(x);
    case 'g': return m_gelu(x);
    case 'f': return m_from_int((int32_t)x);
    default: return (uint32_t)m_to_int(x);
    }
}

static void *worker(void *arg) {
    (void)arg;
    uint32_t *in = malloc(CHUNK * 4), *want = malloc(CHUNK * 4), *alt = malloc(CHUNK * 4);
    int kernel = strcmp(g_op, "sqrt") && strcmp(g_op, "fromint") && strcmp(g_op, "toint");
    for (;;) {
        pthread_mutex_lock(&g_lock);
        uint64_t base = g_next;
        g_next += CHUNK;
        pthread_mutex_unlock(&g_lock);
        if (base >= g_end) break;
        int64_t n = (int64_t)(g_end - base < CHUNK ? g_end - base : CHUNK);
        for (int64_t i = 0; i < n; i++) in[i] = (uint32_t)(base + (uint64_t)i);
        reference(in, want, n);
        uint64_t bad = 0, diff[3] = {0, 0, 0};
        for (int64_t i = 0; i < n; i++) {
            uint32_t got = model(in[i]);
            if (got != want[i]) {
                bad++;
                pthread_mutex_lock(&g_lock);
                if (g_kept < KEEP) {
                    g_first_in[g_kept] = in[i];
                    g_first_want[g_kept] = want[i];
                    g_first_got[g_kept++] = got;
                }
                pthread_mutex_unlock(&g_lock);
            }
        }
        for (int k = 1; kernel && k < 3; k++) {
            if (!g_libs[k]) continue;
            run_kernel(g_libs[k], (const float *)in, (float *)alt, n);
            for (int64_t i = 0; i < n; i++) diff[k] += alt[i] != want[i];
        }
        pthread_mutex_lock(&g_lock);
        g_bad += bad;
        g_done += (uint64_t)n;
        for (int k = 1; k < 3; k++) g_isa_diff[k] += diff[k];
        if ((g_done & ((1ull << 28) - 1)) == 0)
            fprintf(stderr, "[sweep %s] %.1f%% done, %" PRIu64 " mismatches\n", g_op,
                    100.0 * (double)g_done / (double)(g_end - g_start), g_bad);
        pthread_mutex_unlock(&g_lock);
    }
    free(in);
    free(want);
    free(alt);
    return NULL;
}

/* The model alone, for checking it against the committed vectors: unary operations read one
 * uint32 per case, add/sub/mul/div read two, fma three. */
static int model_stdin(const char *op) {
    static const struct { const char *name; uint32_t (*fn)(uint32_t, uint32_t); } bin[] = {
        {"add", m_add}, {"sub", m_sub}, {"mul", m_mul}, {"div", m_div}};
    uint32_t x[3], y;
    if (strcmp(op, "fma") == 0) {
        while (fread(x, 4, 3, stdin) == 3) {
            y = m_fma(x[0], x[1], x[2]);
            fwrite(&y, 4, 1, stdout);
        }
        return 0;
    }
    for (size_t k = 0; k < sizeof bin / sizeof bin[0]; k++) {
        if (strcmp(op, bin[k].name) != 0) continue;
        while (fread(x, 4, 2, stdin) == 2) {
            y = bin[k].fn(x[0], x[1]);
            fwrite(&y, 4, 1, stdout);
        }
        return 0;
    }
    g_op = op;
    while (fread(x, 4, 1, stdin) == 1) {
        y = model(x[0]);
        fwrite(&y, 4, 1, stdout);
    }
    return 0;
}

/* Random differential run of the model's binary operations (add, sub, mul, div, fma) against
 * the x86 instructions (addss, subss, mulss, divss) or glibc's fmaf with SSE's NaN rule. The
 * operands are drawn to hit the slow paths often: close exponents, cancellation, subnormals,
 * the fma frame's edges, and plain random bit patterns. */
static uint64_t g_rng;

static uint64_t rnd(void) {
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t with_field(uint32_t x, int64_t f) {
    f = f < 0 ? 0 : (f > 255 ? 255 : f);
    return (x & 0x807FFFFFu) | ((uint32_t)f << 23);
}

static uint32_t sse_bin(char op, uint32_t a, uint32_t b) {
    float x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    switch (op) {
    case 'a': __asm__("addss %1, %0" : "+x"(x) : "x"(y)); break;
    case 's': __asm__("subss %1, %0" : "+x"(x) : "x"(y)); break;
    case 'm': __asm__("mulss %1, %0" : "+x"(x) : "x"(y)); break;
    default: __asm__("divss %1, %0" : "+x"(x) : "x"(y)); break;
    }
    uint32_t r;
    memcpy(&r, &x, 4);
    return r;
}

static uint32_t ref_fma(uint32_t a, uint32_t b, uint32_t c) {
    if (m_isnan(a)) return a | 0x400000u;
    if (m_isnan(b)) return b | 0x400000u;
    if (m_isnan(c)) return c | 0x400000u;
    float x, y, z, r;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    memcpy(&z, &c, 4);
    r = __builtin_fmaf(x, y, z);
    uint32_t u;
    memcpy(&u, &r, 4);
    return m_isnan(u) ? F_DEFAULT_NAN : u;
}

static int random_run(const char *op, uint64_t n, uint64_t seed) {
    g_rng = seed;
    uint64_t bad = 0;
    int fma = strcmp(op, "fma") == 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = rnd(), kind = r & 7;
        uint32_t a = (uint32_t)rnd(), b = (uint32_t)(rnd() >> 32), c = (uint32_t)rnd();
        int64_t fa = (a >> 23) & 0xFF, fb = (b >> 23) & 0xFF, t = (int64_t)((r >> 8) % 61) - 30;
        if (kind == 1) b = with_field(b, fa + t % 3);                /* close exponents */
        if (kind == 2) b = with_field(b, fa + t);                    /* any overlap */
        if (kind == 3) { a = with_field(a, t + 8); b = with_field(b, (r >> 20) % 40); }
        if (fma && kind >= 4) {
            /* c at the frame edges (s = -1..2, 99..102), at cancellation, or near underflow */
            static const int64_t gap[4] = {190, 190, 127, 90};
            static const uint32_t low[6] = {0, 1, 0x3FFFFF, 0x200000, 0x1FFFFF, 0x200001};
            if (kind == 5) {
                /* a product whose low 22 bits sit at or next to a rounding boundary: b's
                 * significand is low * a^-1 mod 2^22 under random top bits (a made odd) */
                uint64_t ma = ((a & 0x7FFFFFu) | 0x800001u), inv = ma;
                for (int k = 0; k < 5; k++) inv *= 2 - ma * inv;
                uint64_t lo = (low[(r >> 16) % 6] * inv) & 0x3FFFFF;
                a |= 1;
                b = (b & 0xFFC00000u) | (uint32_t)lo;
            }
            if (kind == 7) b = with_field(b, 128 - fa + t % 8);
            fb = (b >> 23) & 0xFF;
            c = with_field(c, fa + fb - gap[kind - 4] + t % 4);
            if (kind == 6) c = (m_mul(a, b) ^ F_SIGN) + (uint32_t)(t % 4);
        }
        uint32_t want, got;
        if (fma) {
            want = ref_fma(a, b, c);
            got = m_fma(a, b, c);
        } else {
            want = sse_bin(op[0], a, b);
            got = op[0] == 'a' ? m_add(a, b) : op[0] == 's' ? m_sub(a, b)
                : op[0] == 'm' ? m_mul(a, b) : m_div(a, b);
        }
        if (got != want && bad++ < KEEP)
            fprintf(stderr, "%s 0x%08X 0x%08X 0x%08X: want 0x%08X got 0x%08X\n", op, a, b, c,
                    want, got);
    }
    printf("{\"op\": \"%s\", \"random_cases\": %" PRIu64 ", \"seed\": %" PRIu64
           ", \"mismatches\": %" PRIu64 "}\n", op, n, seed, bad);
    return bad != 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "model") == 0) return model_stdin(argv[2]);
    if (argc == 5 && strcmp(argv[1], "random") == 0)
        return random_run(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: float32_sweep OP THREADS LIB_DIR [START END]\n");
        return 2;
    }
    g_op = argv[1];
    int threads = atoi(argv[2]);
    g_start = argc == 6 ? strtoull(argv[4], NULL, 16) : 0;
    g_end = argc == 6 ? strtoull(argv[5], NULL, 16) : (1ull << 32);
    g_next = g_start;
    static const char *isas[3] = {"sse", "avx2", "avx512"};
    for (int k = 0; k < 3; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/librepkern_%s.so", argv[3], isas[k]);
        g_libs[k] = dlopen(path, RTLD_NOW);
        if (k == 0 && !g_libs[0]) { fprintf(stderr, "cannot load %s\n", path); return 1; }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t tid[64];
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, worker, NULL);
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("{\"op\": \"%s\", \"start\": %" PRIu64 ", \"end\": %" PRIu64 ", \"inputs\": %" PRIu64
           ", \"mismatches\": %" PRIu64 ", \"avx2_differs\": %" PRIu64
           ", \"avx512_differs\": %" PRIu64 ", \"seconds\": %.1f, \"threads\": %d, \"first\": [",
           g_op, g_start, g_end, g_done, g_bad, g_isa_diff[1], g_isa_diff[2], secs, threads);
    for (int i = 0; i < g_kept; i++)
        printf("%s[\"0x%08X\", \"0x%08X\", \"0x%08X\"]", i ? ", " : "", g_first_in[i],
               g_first_want[i], g_first_got[i]);
    printf("]}\n");
    return 0;
}

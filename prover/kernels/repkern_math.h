/* Part of repkern.c (one translation unit, included once): exp, erf and log as fixed polynomials. */
#ifndef RK_MATH_H
#define RK_MATH_H

/* ---------------------------------------------------------------- exp, erf (fixed polynomials) */
static inline float rk_bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t rk_float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Horner's rule, in this order: p = c[0]; p = p * x + c[i] for i = 1 .. n-1 (a rounded multiply,
 * then a rounded add: no fma, -ffp-contract=off). Inlined with a constant n, it unrolls fully,
 * so the loops over the functions below still vectorize. */
static inline float rk_horner(float x, const float *c, int n) {
    float p = c[0];
    for (int i = 1; i < n; i++) p = p * x + c[i];
    return p;
}

/* The polynomials' coefficients, highest degree first (float literals as before). */
static const float RK_EXP_P[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                  4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
static const float RK_ERF_T[9] = {1.64621144e-06f, -1.49256504e-05f, 1.20553330e-04f,
                                  -8.54832702e-04f, 5.22397763e-03f, -2.68661706e-02f,
                                  1.12837917e-01f, -3.76126389e-01f, 1.12837917e+00f};
static const float RK_ERF_Q[5] = {1.061405429f, -1.453152027f, 1.421413741f, -0.284496736f,
                                  0.254829592f};
static const float RK_LOG_P[9] = {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f,
                                  -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f,
                                  2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};

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
    float p = rk_horner(r, RK_EXP_P, 6);
    float y = p * (r * r) + r + 1.0f;
    int32_t ni = (int32_t)n;               /* in [-126, 128] after the clamp */
    int32_t n1 = ni / 2, n2 = ni - n1;     /* 2^n as 2^n1 * 2^n2: both in normal range */
    y = y * rk_bits_to_float((uint32_t)(n1 + 127) << 23);
    y = y * rk_bits_to_float((uint32_t)(n2 + 127) << 23);
    y = x < lo ? 0.0f : y;
    y = x > hi ? INFINITY : y;
    return x != x ? x : y;
}

/* NaN results, fixed by bit moves. Which NaN operand an SSE instruction propagates follows its
 * operand order (the first NaN source, quieted), and a vectorizing compiler may swap the
 * operands of a commutative add or multiply, so the NaN bits of a chain of operations would
 * depend on the build. The referee replays the C source's order under SSE rules
 * (contracts/src/libraries/Float32Math.sol); these give its result for a NaN input, selected
 * at the end of each function, so every build returns those bits. */
#define RK_QUIET 0x00400000u
/* erf(NaN x), in source order: |x| meets the polynomials first (1 + 0.3275911f * ax and all
 * that follows), so the quieted |x| propagates: the quiet bit set, the sign cleared. */
static inline float rk_nan_erf(float x) {
    return rk_bits_to_float((rk_float_to_bits(x) & 0x7fffffffu) | RK_QUIET);
}
/* GELU(NaN v) = (0.5f * v) * (1.0f + erf(...)): the first NaN is v, quieted (sign kept). */
static inline float rk_nan_quiet(float x) { return rk_bits_to_float(rk_float_to_bits(x) | RK_QUIET); }

/* erf(x): Taylor series to x^17 for |x| < 0.84375; above, Abramowitz & Stegun 7.1.26,
 * 1 - t*q(t)*exp(-x*x) with t = 1/(1 + 0.3275911|x|); 1 from |x| >= 4. |error| < 3e-7.
 * Both branches are computed and one selected (no jumps, so loops vectorize). */
static inline float rk_erf(float x) {
    float ax = fabsf(x);
    float z = x * x;
    float small = x * rk_horner(z, RK_ERF_T, 9);
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float q = rk_horner(t, RK_ERF_Q, 5);
    float big = 1.0f - (q * t) * rk_exp(-z);
    big = ax >= 4.0f ? 1.0f : big;
    big = x < 0.0f ? -big : big;
    return x != x ? rk_nan_erf(x) : ax < 0.84375f ? small : big;
}

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
    float y = (rk_horner(f, RK_LOG_P, 9) * f) * z;
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
#endif

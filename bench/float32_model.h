/* A line-by-line integer model of contracts/src/libraries/Float32Alu.sol, Float32.sol and
 * Float32Math.sol, for the exhaustive sweep (bench/float32_sweep.c). Every function mirrors its
 * Solidity twin: the same scales (a finite value is m * 2^(e - 512)), the same fast paths, the
 * same exact sums with a sticky bit past a 64-bit exponent gap, the same single rounding in
 * pack, the same Newton square root, the same early returns. EVM words are 256 bits; every m
 * here stays below 2^125 (fma's frame; 2^113 elsewhere), so 128 bits hold it, and where the
 * EVM relies on wide shifts the model says so (see m_pack_top, m_fma). Where the Solidity rounds
 * by moving the top bit to a fixed place and adding half less one plus the last bit, the model
 * rounds with m_round_at: the same function of m. The committed vectors tie this model to the
 * Solidity: forge checks the Solidity against them (Float32Vectors.t.sol) and tests/unit/float32
 * checks the model ("float32_sweep model OP") against the same cases and ("float32_sweep random
 * OP N SEED") against the x86 instructions on random cases. */
#ifndef FLOAT32_MODEL_H
#define FLOAT32_MODEL_H

#include <stdint.h>

typedef unsigned __int128 u128;

#define F_SIGN 0x80000000u
#define F_INF 0x7F800000u
#define F_NEG_INF 0xFF800000u
#define F_DEFAULT_NAN 0xFFC00000u
#define F_ONE 0x3F800000u
#define F_HALF 0x3F000000u
#define F_BIAS 512
#define F_MIN_SCALE 363

static inline int m_isnan(uint32_t a) { return (a & 0x7FFFFFFFu) > F_INF; }
static inline int m_isinf(uint32_t a) { return (a & 0x7FFFFFFFu) == F_INF; }
static inline uint32_t m_neg(uint32_t a) { return a ^ F_SIGN; }
static inline uint32_t m_abs(uint32_t a) { return a & 0x7FFFFFFFu; }

static inline uint64_t m_key(uint32_t a) {
    return (a & F_SIGN) ? (uint64_t)(~a & 0xFFFFFFFFu) : ((uint64_t)a | 0x100000000ull);
}
static inline int m_lt(uint32_t a, uint32_t b) {
    int nan = m_isnan(a) || m_isnan(b), zeros = ((a | b) & 0x7FFFFFFFu) == 0;
    return !nan && !zeros && m_key(a) < m_key(b);
}
static inline int m_le(uint32_t a, uint32_t b) {
    int nan = m_isnan(a) || m_isnan(b), zeros = ((a | b) & 0x7FFFFFFFu) == 0;
    return !nan && (zeros || m_key(a) <= m_key(b));
}
static inline int m_gt(uint32_t a, uint32_t b) { return m_lt(b, a); }
static inline int m_ge(uint32_t a, uint32_t b) { return m_le(b, a); }

static inline int msb128(u128 m) {
    uint64_t hi = (uint64_t)(m >> 64);
    return hi ? 127 - __builtin_clzll(hi) : 63 - __builtin_clzll((uint64_t)m);
}

/* pack: s * m * 2^(e - BIAS) rounded to nearest even; b is the index of m's top bit, as the
 * caller knows it (the Solidity's fast paths compute it without a search). */
static inline uint32_t m_pack_top(uint32_t s, u128 m, int64_t e, int64_t b) {
    if (m == 0) return s;
    int64_t sh = b - 23, lim = F_MIN_SCALE - e;
    if (lim > sh) sh = lim;
    if (sh < 1) {
        m <<= -sh;
    } else {
        /* the EVM computes q = m >> sh, rest = m & (2^sh - 1), half = 2^(sh-1) in 256 bits;
         * m < 2^113, so past 113 bits q = 0, rest = m and up = 0 */
        u128 q = sh < 128 ? m >> sh : 0;
        u128 rest = sh < 128 ? m & (((u128)1 << sh) - 1) : m;
        int up = sh <= 127 ? (rest + (q & 1)) > ((u128)1 << (sh - 1)) : 0;
        m = q + (u128)(up && sh < 200);
    }
    m += (u128)(e + sh - F_MIN_SCALE) << 23;
    if (m > 0x7F7FFFFFu) m = F_INF;
    return s | (uint32_t)m;
}

/* packAny: pack with the top bit found by search. */
static inline uint32_t m_pack(uint32_t s, u128 m, int64_t e) {
    return m_pack_top(s, m, e, m ? msb128(m) : 0);
}

typedef struct { uint32_t s; u128 m; int64_t e; } m_num;

static inline m_num m_unpack(uint32_t a) {
    m_num r;
    int64_t e = (a >> 23) & 0xFF;
    r.s = a & F_SIGN;
    r.m = (a & 0x7FFFFFu) | ((uint32_t)(e != 0) << 23);
    r.e = e + (e == 0) + 362;
    return r;
}

/* _sum: exact sum, sticky past a 64-bit gap; exact zero takes the shared sign. */
static inline m_num m_sum(m_num x, m_num y) {
    if (x.e < y.e) { m_num t = x; x = y; y = t; }
    int64_t d = x.e - y.e;
    m_num r;
    r.s = x.s;
    if (d > 64) {
        r.m = x.m << 16;
        r.e = x.e - 16;
        if (x.s == y.s) r.m += (y.m != 0); else r.m -= (y.m != 0);
    } else {
        r.m = x.m << d;
        r.e = y.e;
        if (x.s == y.s) r.m += y.m;
        else if (r.m < y.m) { r.m = y.m - r.m; r.s = y.s; }
        else r.m -= y.m;
    }
    if (r.m == 0) r.s = x.s & y.s;
    return r;
}

/* roundAt: m >> sh (sh >= 1) rounded to nearest even. */
static inline uint64_t m_round_at(uint64_t m, int64_t sh) {
    uint64_t q = m >> sh, rest = m & (((uint64_t)1 << sh) - 1), half = (uint64_t)1 << (sh - 1);
    return q + ((rest + (q & 1)) > half);
}

/* add (Float32.add): |a| >= |b| by swapping; then an infinity or a NaN is a (field 255), and
 * the specials undo the swap (a ^ nb ^ b is the first operand); two operands with exponent
 * fields <= 1 add as integers; else a is normal, b normal, subnormal or zero with the scale of
 * field max(eb, 1). */
static inline uint32_t m_add(uint32_t a, uint32_t b) {
    uint32_t nb = b;
    if ((a & 0x7FFFFFFFu) < (nb & 0x7FFFFFFFu)) {
        uint32_t t = a; a = nb; nb = t;
    }
    uint32_t ea = (a >> 23) & 0xFF;
    if (ea == 0xFF) {
        a = a ^ nb ^ b;
        nb = b;
        uint32_t r = nb;
        if ((a & 0x7FFFFFFFu) == F_INF) {
            r = a;
            if ((nb & F_INF) == F_INF && a != nb) r = F_DEFAULT_NAN;
        }
        if (m_isnan(b)) r = b | 0x400000u;
        if (m_isnan(a)) r = a | 0x400000u;
        return r;
    }
    uint32_t eb = (nb >> 23) & 0xFF;
    uint32_t sa = a & F_SIGN;
    if (ea < 2) {  /* one scale: the magnitudes add as integers */
        if (((a ^ nb) >> 31) == 0) {
            uint32_t r = a + (nb & 0x7FFFFFFFu);
            /* past field 1 the sum has 25 bits: drop one (the unit doubles at field 2) */
            uint32_t mag = r & 0x7FFFFFFFu;
            if (mag >> 24) r = sa | (0x800000u + (uint32_t)m_round_at(mag, 1));
            return r;
        }
        uint32_t r = a - (nb & 0x7FFFFFFFu);
        return (r & 0x7FFFFFFFu) ? r : 0;
    }
    uint64_t mb = (nb & 0x7FFFFFu) | ((uint32_t)(eb != 0) << 23);
    uint32_t fb = eb + (eb == 0);
    int64_t d = (int64_t)ea - fb;
    if (d >= 26) return a;
    uint64_t m = (uint64_t)((a & 0x7FFFFFu) | 0x800000u) << d;
    if (((a ^ nb) >> 31) == 0) {  /* same signs: top bit at 23 + d + cy, d + cy >= 1 */
        m += mb;
        uint64_t cy = m >> (24 + d);
        uint64_t r = ((uint64_t)(ea + cy - 1) << 23) + m_round_at(m, d + (int64_t)cy);
        if (r > 0x7F7FFFFFu) r = F_INF;
        return (uint32_t)r | sa;
    }
    m -= mb;
    uint64_t lo = (m >> (23 + d)) == 0;
    if ((uint64_t)d > lo) {  /* top bit at 23 + d - lo, a normal result */
        uint64_t r = ((uint64_t)(ea - lo - 1) << 23) + m_round_at(m, d - (int64_t)lo);
        return (uint32_t)r | sa;
    }
    /* close exponents: m < 2^24, exact; normalize, or stop at the subnormal scale */
    if (m == 0) return 0;
    int64_t k = 1 - (int64_t)(m >> 23), lim = (int64_t)fb - 1;  /* one bit lost, usually */
    if (!(m >> 22)) k = 23 - msb128(m);
    if (k > lim) k = lim;
    return sa | (uint32_t)(((uint64_t)(lim - k) << 23) + (m << k));
}

static inline uint32_t m_sub(uint32_t a, uint32_t b) {
    return m_add(a, m_isnan(b) ? b : b ^ F_SIGN);
}

/* mul (Float32.mul): a subnormal operand is normalized first (shifted up to bit 23, its
 * exponent field 1 - the shift), so the product's top bit is at 46 + cy; a subnormal result
 * drops 1 - field more bits (at most 60 in all). */
static inline uint64_t m_norm(uint64_t m, int64_t *e) {
    int t = 63 - __builtin_clzll(m);
    *e = t - 22;
    return m << (23 - t);
}

static inline uint32_t m_mul(uint32_t a, uint32_t b) {
    uint32_t s = (a ^ b) & F_SIGN;
    int64_t ea = (a >> 23) & 0xFF, eb = (b >> 23) & 0xFF;
    if (ea == 0xFF || eb == 0xFF) {
        uint32_t r = s | F_INF;
        if ((a & 0x7FFFFFFFu) == 0 || (b & 0x7FFFFFFFu) == 0) r = F_DEFAULT_NAN;
        if (m_isnan(b)) r = b | 0x400000u;
        if (m_isnan(a)) r = a | 0x400000u;
        return r;
    }
    if ((a & 0x7FFFFFFFu) == 0 || (b & 0x7FFFFFFFu) == 0) return s;
    uint64_t ma = (a & 0x7FFFFFu) | 0x800000u, mb = (b & 0x7FFFFFu) | 0x800000u;
    if (ea == 0) ma = m_norm(a & 0x7FFFFFu, &ea);
    if (eb == 0) mb = m_norm(b & 0x7FFFFFu, &eb);
    uint64_t m = ma * mb, cy = m >> 47;
    int64_t field = ea + eb + (int64_t)cy - 127, sh = 23 + (int64_t)cy;
    if (field < 1) {
        sh = sh + 1 - field;
        field = 1;
        if (sh > 60) sh = 60;
    }
    uint64_t r = ((uint64_t)(field - 1) << 23) + m_round_at(m, sh);
    if (r > 0x7F7FFFFFu) r = F_INF;
    return s | (uint32_t)r;
}

static inline uint32_t m_div(uint32_t a, uint32_t b) {
    uint32_t s = (a ^ b) & F_SIGN, aa = a & 0x7FFFFFFFu, ab = b & 0x7FFFFFFFu;
    if (aa >= F_INF || ab >= F_INF || ab == 0 || aa == 0) {
        if (aa > F_INF) return a | 0x400000u;
        if (ab > F_INF) return b | 0x400000u;
        if ((aa == F_INF && ab == F_INF) || (aa == 0 && ab == 0)) return F_DEFAULT_NAN;
        if (aa == F_INF || ab == 0) return s | F_INF;
        return s;
    }
    m_num x = m_unpack(a), y = m_unpack(b);
    u128 num = x.m << 64;
    u128 q = (num / y.m) | (u128)(num % y.m != 0);
    return m_pack(s, q, x.e + F_BIAS - y.e - 64);
}

static inline uint32_t m_sqrt(uint32_t a) {
    if ((a & 0x7FFFFFFFu) == 0) return a;
    if (m_isnan(a)) return a | 0x400000u;
    if (a & F_SIGN) return F_DEFAULT_NAN;
    if (a == F_INF) return a;
    m_num x = m_unpack(a);
    int64_t k = 64 + (x.e & 1);
    u128 n = x.m << k;
    u128 root = (u128)1 << 45;
    for (;;) {
        u128 y = (root + n / root) >> 1;
        if (!(y < root)) break;
        root = y;
    }
    root |= (u128)(root * root != n);
    int64_t e = F_BIAS + ((x.e - F_BIAS - k) >> 1); /* sar: arithmetic shift */
    return m_pack(0, root, e);
}

/* fma off the fast path (Float32Alu's OP_FMA): specials, then the exact sum of the product
 * and c (a zero term gets scale 0 so it is never the larger), rounded once. */
static inline uint32_t m_fma_general(uint32_t a, uint32_t b, uint32_t c) {
    uint32_t s = (a ^ b) & F_SIGN;
    if ((a & F_INF) == F_INF || (b & F_INF) == F_INF || (c & F_INF) == F_INF) {
        uint32_t r = c;
        if ((a & F_INF) == F_INF || (b & F_INF) == F_INF) {
            r = s | F_INF;
            if ((c & F_INF) == F_INF && c != r) r = F_DEFAULT_NAN;
            if ((a & 0x7FFFFFFFu) == 0 || (b & 0x7FFFFFFFu) == 0) r = F_DEFAULT_NAN;
        }
        if (m_isnan(c)) r = c | 0x400000u;
        if (m_isnan(b)) r = b | 0x400000u;
        if (m_isnan(a)) r = a | 0x400000u;
        return r;
    }
    m_num x = m_unpack(a), y = m_unpack(b), z = m_unpack(c), p;
    p.s = s;
    p.m = x.m * y.m;
    p.e = p.m ? x.e + y.e - F_BIAS : 0;
    z.e = z.m ? z.e : 0;
    m_num r = m_sum(p, z);
    return m_pack(r.s, r.m, r.e);
}

/* fma (Float32.fma): three normal operands, c's shift s in [0, 100] in the frame whose unit
 * is 2^-40 of the product's unit (the sum stays under 2^125), a normal result; else c = ±0 with
 * a, b nonzero is a multiply, and anything else takes the general path. */
static inline uint32_t m_fma(uint32_t a, uint32_t b, uint32_t c) {
    uint32_t ea = (a >> 23) & 0xFF, eb = (b >> 23) & 0xFF, ec = (c >> 23) & 0xFF;
    int64_t s = (int64_t)ec + 190 - (int64_t)ea - (int64_t)eb;
    if (s >= 0 && s <= 100 && ea - 1 < 254 && eb - 1 < 254 && ec - 1 < 254) {
        uint64_t mp = (uint64_t)((a & 0x7FFFFFu) | 0x800000u) * ((b & 0x7FFFFFu) | 0x800000u);
        u128 xc = (u128)((c & 0x7FFFFFu) | 0x800000u) << s, xp;
        int64_t t = 86 + (int64_t)(mp >> 47);
        if (s > 63) t = s + 23;  /* c's top bit is the higher */
        xp = (u128)mp << 40;
        uint32_t sg = (a ^ b) & F_SIGN;
        u128 m = xp + xc;
        if (((sg ^ c) >> 31) == 0) {
            t += (m >> (t + 1)) != 0;  /* a carry */
        } else {
            m = xp - xc;
            if (xp < xc) { m = xc - xp; sg = c & F_SIGN; }
            if (!(m >> t)) {  /* one place down, or a cancellation: search */
                t--;
                if (!(m >> t)) t = m ? msb128(m) : 512;
            }
        }
        int64_t field = t + (int64_t)ec - (s + 23);
        if ((uint64_t)(field - 1) < 254) {
            /* the EVM adds 2^103 - 1 + lsb and shifts, in 256 bits; the same in 128 */
            m <<= 127 - t;
            u128 q = m >> 104, rest = m & (((u128)1 << 104) - 1);
            q += (rest + (q & 1)) > ((u128)1 << 103);
            return sg | (uint32_t)(((u128)(field - 1) << 23) + q);
        }
    }
    if ((c & 0x7FFFFFFFu) == 0 && (a & 0x7FFFFFFFu) && (b & 0x7FFFFFFFu)) return m_mul(a, b);
    return m_fma_general(a, b, c);
}

static inline uint32_t m_from_int(int64_t i) {
    uint32_t s = i < 0 ? F_SIGN : 0;
    u128 m = i < 0 ? (u128)(-(__int128)i) : (u128)i;
    return m_pack(s, m, F_BIAS);
}

static inline int32_t m_to_int(uint32_t a) {
    uint32_t ex = (a >> 23) & 0xFF;
    if (ex >= 158) return INT32_MIN;
    if (ex < 127) return 0;
    uint64_t m = (a & 0x7FFFFFu) | 0x800000u;
    uint64_t v = ex >= 150 ? m << (ex - 150) : m >> (150 - ex);
    return (a & F_SIGN) ? -(int32_t)v : (int32_t)v;
}

/* ------------------------------------------------------------------ Float32Math */

static inline uint32_t m_horner(uint32_t x, const uint32_t *c, int n) {
    uint32_t p = c[0];
    for (int i = 1; i < n; i++) p = m_add(m_mul(p, x), c[i]);
    return p;
}

static inline uint32_t m_exp(uint32_t x) {
    static const uint32_t c[6] = {0x39506967, 0x3AB743CE, 0x3C088908, 0x3D2AA9C1, 0x3E2AAAAA,
                                  0x3F000000};
    if (m_isnan(x)) return x;
    if (x > 0xC2AEAC4Fu) return 0;                     /* x < EXP_LO, as integers */
    if (x > 0x42B17217u && x < F_SIGN) return F_INF;  /* x > EXP_HI, as integers */
    uint32_t n = m_sub(m_add(m_mul(x, 0x3FB8AA3Bu), 0x4B400000u), 0x4B400000u);
    uint32_t r = m_sub(x, m_mul(n, 0x3F318000u));
    r = m_sub(r, m_mul(n, 0xB95E8083u));
    uint32_t p = m_horner(r, c, 6);
    uint32_t y = m_add(m_add(m_mul(p, m_mul(r, r)), r), F_ONE);
    int32_t ni = m_to_int(n);
    int32_t n1 = ni / 2, n2 = ni - n1;
    y = m_mul(y, (uint32_t)(n1 + 127) << 23);
    return m_mul(y, (uint32_t)(n2 + 127) << 23);
}

static inline uint32_t m_log(uint32_t x) {
    static const uint32_t c[9] = {0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A, 0xBDFE5D4F, 0x3E11E9BF,
                                  0xBE2AAE50, 0x3E4CCEAC, 0xBE7FFFFC, 0x3EAAAAAA};
    if (m_isnan(x)) return x;
    if ((x & 0x7FFFFFFFu) == 0) return F_NEG_INF;
    if (x & F_SIGN) return 0x7FC00000u;
    if (x == F_INF) return x;
    int sub = m_lt(x, 0x00800000u);
    uint32_t u = sub ? m_mul(x, 0x4B000000u) : x;
    int64_t e = (int64_t)((u >> 23) & 0xFF) - 127 - (sub ? 23 : 0);
    uint32_t m = (u & 0x007FFFFFu) | 0x3F800000u;
    if (m_gt(m, 0x3FB504F3u)) { m = m_mul(m, F_HALF); e = e + 1; }
    uint32_t f = m_sub(m, F_ONE);
    uint32_t z = m_mul(f, f);
    uint32_t y = m_mul(m_mul(m_horner(f, c, 9), f), z);
    uint32_t fe = m_from_int(e);
    y = m_add(y, m_mul(fe, 0xB95E8083u));
    y = m_sub(y, m_mul(F_HALF, z));
    uint32_t r = m_add(f, y);
    return m_add(r, m_mul(fe, 0x3F318000u));
}

static inline uint32_t m_erf(uint32_t x) {
    static const uint32_t c[9] = {0x35DCF365, 0xB77A692E, 0x38FCD194, 0xBA6016DA, 0x3BAB2DE7,
                                  0xBCDC1672, 0x3DE71791, 0xBEC093A3, 0x3F906EBB};
    static const uint32_t q[5] = {0x3F87DC22, 0xBFBA00E3, 0x3FB5F0E3, 0xBE91A98E, 0x3E827906};
    uint32_t ax = m_abs(x), z = m_mul(x, x);
    /* the compares of |x| as integer compares; x < 0 as the sign bit of a non-NaN x */
    if (ax < 0x3F580000u) return m_mul(x, m_horner(z, c, 9));
    int negative = (x & F_SIGN) != 0 && ax <= F_INF;
    if (ax >= 0x40800000u && ax <= F_INF) return negative ? 0xBF800000u : F_ONE;
    uint32_t t = m_div(F_ONE, m_add(F_ONE, m_mul(0x3EA7BA05u, ax)));
    uint32_t big = m_sub(F_ONE, m_mul(m_mul(m_horner(t, q, 5), t), m_exp(m_neg(z))));
    return negative ? m_neg(big) : big;
}

static inline uint32_t m_gelu(uint32_t v) {
    return m_mul(m_mul(F_HALF, v), m_add(F_ONE, m_erf(m_mul(v, 0x3F3504F3u))));
}

#endif

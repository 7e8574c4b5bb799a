/* Part of repkern.c (one translation unit, included once): fma: the hardware instruction and the exact software fma. */
#ifndef RK_FMA_H
#define RK_FMA_H

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
#endif

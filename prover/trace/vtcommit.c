/* Tensor commitments (docs/referee.md "Tensor commitment"), fast path.
 *
 * SHA-256 of our own: the x86 SHA extensions (SHA-NI) when cpuid reports them, plain C
 * otherwise; both give the FIPS 180-4 digest (tests compare with hashlib on random inputs).
 *
 *   vt_sha256(data, n, out)                  one digest (for the speed comparison and tests)
 *   vt_chunk_leaves(data, nbytes, leaves)    sha256 of every 1 KiB chunk, last one zero-padded
 *   vt_fold(leaves, n, out)                  positional tree over n leaves, zero-padded to 2^k
 *   vt_tensor_root(data, nbytes, out)        vt_fold(vt_chunk_leaves(data))
 *   vt_write_root(fd, data, nbytes, off, out) vt_tensor_root, and the bytes written to the file
 *                                            at byte ``off`` on the way (a trace's op outputs)
 *   vt_has_shani()                           1 when the SHA-NI path runs
 *   vt_has_avx512()                          1 when chunks go 16 at a time through AVX-512
 *                                            (CPUs with AVX-512 but no SHA-NI, or forced)
 *
 * A call holds no lock and touches no global state but the dispatch flag, so Python may call
 * it from several threads (ctypes releases the GIL).
 */
#define _POSIX_C_SOURCE 200809L /* pwrite */
#include <cpuid.h>
#include <errno.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define CHUNK_BYTES 1024

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* ---- portable compression ---------------------------------------------------------------- */
#define ROR(x, r) (((x) >> (r)) | ((x) << (32 - (r))))

static uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_digest(const uint32_t st[8], uint8_t out[32]) {
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(st[i] >> 24);
        out[4 * i + 1] = (uint8_t)(st[i] >> 16);
        out[4 * i + 2] = (uint8_t)(st[i] >> 8);
        out[4 * i + 3] = (uint8_t)st[i];
    }
}

static void compress_plain(uint32_t st[8], const uint8_t *p, size_t nblocks) {
    uint32_t w[64];
    for (; nblocks; nblocks--, p += 64) {
        for (int i = 0; i < 16; i++) w[i] = load_be32(p + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
        uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
                          K256[i] + w[i];
            uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d;
        st[4] += e; st[5] += f; st[6] += g; st[7] += h;
    }
}

/* ---- SHA-NI compression ------------------------------------------------------------------ */
/* The instructions keep the state as two vectors, ABEF and CDGH (lane 3 first). Each group of
 * four rounds adds the round constants to four schedule words and runs sha256rnds2 twice; the
 * schedule words past 16 come from msg1/msg2 over the previous four groups. */
__attribute__((target("sha,sse4.1")))
static void compress_shani(uint32_t st[8], const uint8_t *p, size_t nblocks) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&st[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&st[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    for (; nblocks; nblocks--, p += 64) {
        const __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i m[4];
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            if (g < 4) {
                m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
            } else {
                /* m[g&3] holds W(g-4), then W(g-3), W(g-2), W(g-1) in rotation */
                __m128i t = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
                m[g & 3] = _mm_sha256msg2_epu32(t, m[(g + 3) & 3]);
            }
            __m128i k = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)&K256[4 * g]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, k);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(k, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&st[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&st[4], _mm_alignr_epi8(dchg, feba, 8));
}

/* Two independent messages of the same length in lockstep: one block of each per iteration, the
 * instructions of the two chains interleaved. sha256rnds2 has a long latency and one chain
 * leaves the unit idle most of the time; two nearly double the throughput of chunk hashing. */
#define SHANI_LOAD(st, abef, cdgh)                                                              \
    do {                                                                                        \
        __m128i cdab_ = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&(st)[0]), 0xB1);    \
        __m128i efgh_ = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&(st)[4]), 0x1B);    \
        abef = _mm_alignr_epi8(cdab_, efgh_, 8);                                                \
        cdgh = _mm_blend_epi16(efgh_, cdab_, 0xF0);                                             \
    } while (0)
#define SHANI_STORE(st, abef, cdgh)                                                             \
    do {                                                                                        \
        __m128i feba_ = _mm_shuffle_epi32(abef, 0x1B);                                          \
        __m128i dchg_ = _mm_shuffle_epi32(cdgh, 0xB1);                                          \
        _mm_storeu_si128((__m128i *)&(st)[0], _mm_blend_epi16(feba_, dchg_, 0xF0));             \
        _mm_storeu_si128((__m128i *)&(st)[4], _mm_alignr_epi8(dchg_, feba_, 8));                \
    } while (0)

__attribute__((target("sha,sse4.1")))
static void compress_shani_x2(uint32_t sa[8], uint32_t sb[8], const uint8_t *pa,
                              const uint8_t *pb, size_t nblocks, const uint8_t *last) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abefA, cdghA, abefB, cdghB;
    SHANI_LOAD(sa, abefA, cdghA);
    SHANI_LOAD(sb, abefB, cdghB);
    /* nblocks blocks of each message, then (when ``last`` is given) one shared final block */
    for (size_t blk = 0; blk < nblocks + (last != NULL); blk++) {
        const uint8_t *qa = blk < nblocks ? pa + 64 * blk : last;
        const uint8_t *qb = blk < nblocks ? pb + 64 * blk : last;
        const __m128i a0 = abefA, c0 = cdghA, b0 = abefB, d0 = cdghB;
        __m128i ma[4], mb[4];
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            if (g < 4) {
                ma[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(qa + 16 * g)), bswap);
                mb[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(qb + 16 * g)), bswap);
            } else {
                __m128i ta = _mm_sha256msg1_epu32(ma[g & 3], ma[(g + 1) & 3]);
                __m128i tb = _mm_sha256msg1_epu32(mb[g & 3], mb[(g + 1) & 3]);
                ta = _mm_add_epi32(ta, _mm_alignr_epi8(ma[(g + 3) & 3], ma[(g + 2) & 3], 4));
                tb = _mm_add_epi32(tb, _mm_alignr_epi8(mb[(g + 3) & 3], mb[(g + 2) & 3], 4));
                ma[g & 3] = _mm_sha256msg2_epu32(ta, ma[(g + 3) & 3]);
                mb[g & 3] = _mm_sha256msg2_epu32(tb, mb[(g + 3) & 3]);
            }
            const __m128i kk = _mm_loadu_si128((const __m128i *)&K256[4 * g]);
            __m128i ka = _mm_add_epi32(ma[g & 3], kk);
            __m128i kb = _mm_add_epi32(mb[g & 3], kk);
            cdghA = _mm_sha256rnds2_epu32(cdghA, abefA, ka);
            cdghB = _mm_sha256rnds2_epu32(cdghB, abefB, kb);
            abefA = _mm_sha256rnds2_epu32(abefA, cdghA, _mm_shuffle_epi32(ka, 0x0E));
            abefB = _mm_sha256rnds2_epu32(abefB, cdghB, _mm_shuffle_epi32(kb, 0x0E));
        }
        abefA = _mm_add_epi32(abefA, a0);
        cdghA = _mm_add_epi32(cdghA, c0);
        abefB = _mm_add_epi32(abefB, b0);
        cdghB = _mm_add_epi32(cdghB, d0);
    }
    SHANI_STORE(sa, abefA, cdghA);
    SHANI_STORE(sb, abefB, cdghB);
}

/* ---- AVX-512: sixteen chunks at once ---------------------------------------------------------
 * One message per 32-bit lane: lane i hashes chunk i of a group of 16 consecutive chunks (its
 * words fetched by a gather), every round a handful of lane-wise rotates, ternary-logic ops and
 * adds. Where AVX-512 runs at full width this beats the SHA-NI unit's two chains. */
#define ROR16(x, r) _mm512_ror_epi32((x), (r))
#define XOR3(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0x96)

__attribute__((target("avx512f,avx512bw")))
static void compress16(__m512i st[8], __m512i w[16]) {
    __m512i a = st[0], b = st[1], c = st[2], d = st[3];
    __m512i e = st[4], f = st[5], g = st[6], h = st[7];
    for (int q = 0; q < 4; q++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) {
            if (q) {  /* w[t] for t >= 16, in place: w[i] held w[t-16] */
                __m512i x = w[(i + 1) & 15], y = w[(i + 14) & 15];
                __m512i s0 = XOR3(ROR16(x, 7), ROR16(x, 18), _mm512_srli_epi32(x, 3));
                __m512i s1 = XOR3(ROR16(y, 17), ROR16(y, 19), _mm512_srli_epi32(y, 10));
                w[i] = _mm512_add_epi32(_mm512_add_epi32(w[i], s0),
                                        _mm512_add_epi32(w[(i + 9) & 15], s1));
            }
            __m512i t1 = _mm512_add_epi32(h, XOR3(ROR16(e, 6), ROR16(e, 11), ROR16(e, 25)));
            t1 = _mm512_add_epi32(t1, _mm512_ternarylogic_epi32(e, f, g, 0xCA)); /* Ch */
            t1 = _mm512_add_epi32(t1, _mm512_add_epi32(w[i],
                                                       _mm512_set1_epi32((int)K256[16 * q + i])));
            __m512i t2 = _mm512_add_epi32(XOR3(ROR16(a, 2), ROR16(a, 13), ROR16(a, 22)),
                                          _mm512_ternarylogic_epi32(a, b, c, 0xE8)); /* Maj */
            h = g; g = f; f = e; e = _mm512_add_epi32(d, t1);
            d = c; c = b; b = a; a = _mm512_add_epi32(t1, t2);
        }
    }
    st[0] = _mm512_add_epi32(st[0], a); st[1] = _mm512_add_epi32(st[1], b);
    st[2] = _mm512_add_epi32(st[2], c); st[3] = _mm512_add_epi32(st[3], d);
    st[4] = _mm512_add_epi32(st[4], e); st[5] = _mm512_add_epi32(st[5], f);
    st[6] = _mm512_add_epi32(st[6], g); st[7] = _mm512_add_epi32(st[7], h);
}

/* Leaves of the 16 full chunks at ``base`` (chunk i at base + 1024 * i). */
__attribute__((target("avx512f,avx512bw")))
static void chunks_x16(const uint8_t *base, uint8_t *leaves) {
    const __m512i idx = _mm512_setr_epi32(0, 1024, 2048, 3072, 4096, 5120, 6144, 7168, 8192,
                                          9216, 10240, 11264, 12288, 13312, 14336, 15360);
    const __m512i bswap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    __m512i st[8], w[16];
    for (int k = 0; k < 8; k++) st[k] = _mm512_set1_epi32((int)H0[k]);
    for (int blk = 0; blk < CHUNK_BYTES / 64; blk++) {
        for (int j = 0; j < 16; j++)
            w[j] = _mm512_shuffle_epi8(
                _mm512_i32gather_epi32(idx, (const void *)(base + 64 * blk + 4 * j), 1), bswap);
        compress16(st, w);
    }
    /* the padding block of a 1 KiB message, the same in every lane */
    for (int j = 0; j < 16; j++) w[j] = _mm512_setzero_si512();
    w[0] = _mm512_set1_epi32((int)0x80000000u);
    w[15] = _mm512_set1_epi32(CHUNK_BYTES * 8);
    compress16(st, w);
    uint32_t out[8][16];
    for (int k = 0; k < 8; k++) _mm512_storeu_si512((void *)out[k], st[k]);
    for (int i = 0; i < 16; i++) {
        uint32_t lane[8];
        for (int k = 0; k < 8; k++) lane[k] = out[k][i];
        put_digest(lane, leaves + 32 * i);
    }
}

static int cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

/* ---- dispatch ----------------------------------------------------------------------------- */
typedef void (*compress_fn)(uint32_t[8], const uint8_t *, size_t);

static int cpu_has_shani(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int sha = (b >> 29) & 1;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return sha && ((c >> 19) & 1); /* SSE4.1 too */
}

static compress_fn pick(void) {
    /* VT_COMMIT_PLAIN=1 forces the portable path (tests run both) */
    const char *force = getenv("VT_COMMIT_PLAIN");
    if (force && force[0] == '1') return compress_plain;
    return cpu_has_shani() ? compress_shani : compress_plain;
}

static compress_fn compress_impl(void) {
    static compress_fn fn;
    if (!fn) fn = pick(); /* a racing first call picks the same function */
    return fn;
}

int vt_has_shani(void) { return compress_impl() == compress_shani; }

/* Whether chunk leaves go 16 at a time through AVX-512: by default only on a CPU without SHA-NI
 * (measured here: right after training-like vector work, SHA-NI x2 hashes 1.5x as many bytes per
 * CPU second as AVX-512 x16, whose wide units the kernels keep busy). VT_COMMIT_AVX512=1 forces
 * it where the CPU has AVX-512, VT_COMMIT_AVX512=0 or VT_COMMIT_PLAIN=1 turns it off. */
static int use_avx512(void) {
    static int state = -1;
    if (state < 0) {
        const char *plain = getenv("VT_COMMIT_PLAIN"), *opt = getenv("VT_COMMIT_AVX512");
        int off = (plain && plain[0] == '1') || (opt && opt[0] == '0');
        int forced = opt && opt[0] == '1';
        state = !off && cpu_has_avx512() && (forced || compress_impl() != compress_shani);
    }
    return state;
}

int vt_has_avx512(void) { return use_avx512(); }

/* ---- whole messages ----------------------------------------------------------------------- */

static void finish(uint32_t st[8], const uint8_t *tail, size_t tail_len, uint64_t total,
                   uint8_t out[32], compress_fn fn) {
    uint8_t block[128] = {0};
    memcpy(block, tail, tail_len);
    block[tail_len] = 0x80;
    size_t nb = tail_len + 9 > 64 ? 2 : 1;
    uint64_t bits = total * 8;
    for (int i = 0; i < 8; i++) block[nb * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    fn(st, block, nb);
    put_digest(st, out);
}

static void sha256_with(const uint8_t *data, size_t n, uint8_t out[32], compress_fn fn) {
    uint32_t st[8];
    memcpy(st, H0, sizeof st);
    size_t full = n / 64;
    if (full) fn(st, data, full);
    finish(st, data + full * 64, n - full * 64, n, out, fn);
}

void vt_sha256(const uint8_t *data, size_t n, uint8_t out[32]) {
    sha256_with(data, n, out, compress_impl());
}

size_t vt_num_chunks(size_t nbytes) {
    return nbytes ? (nbytes + CHUNK_BYTES - 1) / CHUNK_BYTES : 1;
}

/* The padding block of every 1 KiB message: 0x80, zeros, the bit length 8192 big-endian. */
static const uint8_t CHUNK_PAD[64] = {[0] = 0x80, [62] = 0x20};

void vt_chunk_leaves(const uint8_t *data, size_t nbytes, uint8_t *leaves) {
    compress_fn fn = compress_impl();
    size_t full = nbytes / CHUNK_BYTES, i = 0;
    if (use_avx512())
        for (; i + 16 <= full; i += 16) chunks_x16(data + i * CHUNK_BYTES, leaves + 32 * i);
    if (fn == compress_shani) {
        for (; i + 2 <= full; i += 2) {
            uint32_t sa[8], sb[8];
            memcpy(sa, H0, sizeof sa);
            memcpy(sb, H0, sizeof sb);
            compress_shani_x2(sa, sb, data + i * CHUNK_BYTES, data + (i + 1) * CHUNK_BYTES,
                              CHUNK_BYTES / 64, CHUNK_PAD);
            put_digest(sa, leaves + 32 * i);
            put_digest(sb, leaves + 32 * (i + 1));
        }
    }
    for (; i < full; i++) sha256_with(data + i * CHUNK_BYTES, CHUNK_BYTES, leaves + 32 * i, fn);
    size_t rest = nbytes - full * CHUNK_BYTES;
    if (rest || nbytes == 0) {
        uint8_t chunk[CHUNK_BYTES] = {0};
        memcpy(chunk, data + full * CHUNK_BYTES, rest);
        sha256_with(chunk, CHUNK_BYTES, leaves + 32 * i, fn);
    }
}

/* Fold n >= 1 leaves in ``work`` (overwritten) to the root of the tree padded to 2^k leaves.
 * A missing right node at level i is the root of an all-zero subtree of height i. */
static void fold_in_place(uint8_t *work, size_t n, uint8_t out[32], compress_fn fn) {
    uint8_t zero[32] = {0}, pair[64];
    while (n > 1) {
        size_t half = (n + 1) / 2;
        for (size_t j = 0; j < half; j++) {
            memcpy(pair, work + 64 * j, 32);
            memcpy(pair + 32, 2 * j + 1 < n ? work + 64 * j + 32 : zero, 32);
            sha256_with(pair, 64, work + 32 * j, fn);
        }
        memcpy(pair, zero, 32);
        memcpy(pair + 32, zero, 32);
        sha256_with(pair, 64, zero, fn);
        n = half;
    }
    memcpy(out, work, 32);
}

int vt_fold(const uint8_t *leaves, size_t n, uint8_t out[32]) {
    if (n == 0) return -1;
    uint8_t *work = malloc(32 * n);
    if (!work) return -2;
    memcpy(work, leaves, 32 * n);
    fold_in_place(work, n, out, compress_impl());
    free(work);
    return 0;
}

int vt_tensor_root(const uint8_t *data, size_t nbytes, uint8_t out[32]) {
    size_t n = vt_num_chunks(nbytes);
    uint8_t *work = malloc(32 * n);
    if (!work) return -2;
    vt_chunk_leaves(data, nbytes, work);
    fold_in_place(work, n, out, compress_impl());
    free(work);
    return 0;
}

/* vt_tensor_root and a pwrite of the same bytes, block by block: each block's chunks are hashed
 * right before the kernel copies the block into the file, so the copy reads it from the cache
 * (one pass over memory instead of two) and the caller makes one call for both (ctypes releases
 * the GIL for all of it). Returns 0, -2 when out of memory, or -errno of a failed write. */
#define WRITE_BLOCK (256 * CHUNK_BYTES)

int vt_write_root(int fd, const uint8_t *data, size_t nbytes, int64_t offset, uint8_t out[32]) {
    size_t n = vt_num_chunks(nbytes);
    uint8_t *work = malloc(32 * n);
    if (!work) return -2;
    size_t at = 0;
    do { /* an empty tensor still has its one zero chunk */
        size_t len = nbytes - at < WRITE_BLOCK ? nbytes - at : WRITE_BLOCK;
        vt_chunk_leaves(data + at, len, work + 32 * (at / CHUNK_BYTES));
        for (size_t done = 0; done < len;) {
            ssize_t w = pwrite(fd, data + at + done, len - done, (off_t)(offset + at + done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                int err = w < 0 ? errno : EIO;
                free(work);
                return -err;
            }
            done += (size_t)w;
        }
        at += len;
    } while (at < nbytes);
    fold_in_place(work, n, out, compress_impl());
    free(work);
    return 0;
}

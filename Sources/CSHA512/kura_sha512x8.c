#include "kura_sha512x8.h"
#include <stdlib.h>
#include <string.h>

// FIPS 180-4 §4.2.3 (first 64 bits of the fractional parts of the cube roots of the first 80
// primes) and §5.3.6.2 (the SHA-512/256 initial state); both checked against hashlib and OpenSSL.
static const uint64_t K[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static const uint64_t IV[8] = {
    0x22312194fc2bf72cULL, 0x9f555fa3c84c64c2ULL, 0x2393b86b6f53b151ULL, 0x963877195940eabdULL,
    0x96283ee2a88effe3ULL, 0xbe5e1e2553863992ULL, 0x2b0199fc2c85b8aaULL, 0x0eb72ddc81c52ca2ULL,
};

enum { LANES = 8, BLOCK = 128 };

/// What one lane is hashing: whole blocks straight from the message, then one or two padded blocks.
typedef struct {
    const uint8_t *body;
    size_t bodyBlocks;
    size_t tailBlocks;  // 1 or 2 while busy; 0 when idle
    size_t tailDone;
    uint64_t *digest;   // where the four digest words go
    uint64_t ticket;
    uint8_t tail[2 * BLOCK];
} Lane;

/// Eight lanes and their chaining values: state[j][i] is word j of lane i.
typedef struct {
    Lane lanes[LANES];
    uint64_t state[8][LANES] __attribute__((aligned(64)));
    int busy;
} Lanes;

#if defined(__x86_64__)
#include <immintrin.h>

int kura_sha512x8_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

#define TARGET __attribute__((target("avx512f,avx512bw")))
#define ADD(x, y) _mm512_add_epi64(x, y)
#define ROR(x, n) _mm512_ror_epi64(x, n)
#define XOR3(x, y, z) _mm512_ternarylogic_epi64(x, y, z, 0x96)
#define SIGMA0(x) XOR3(ROR(x, 1), ROR(x, 8), _mm512_srli_epi64(x, 7))
#define SIGMA1(x) XOR3(ROR(x, 19), ROR(x, 61), _mm512_srli_epi64(x, 6))

// One round. Ch is ternary-logic table 0xCA (e ? f : g), Maj is 0xE8 (majority of three).
#define ROUND(a, b, c, d, e, f, g, h, t)                                                          \
    do {                                                                                          \
        __m512i kw = ADD(w[(t) & 15], _mm512_set1_epi64((long long)K[t]));                        \
        __m512i t1 = ADD(ADD(h, XOR3(ROR(e, 14), ROR(e, 18), ROR(e, 41))),                        \
                         ADD(_mm512_ternarylogic_epi64(e, f, g, 0xCA), kw));                      \
        __m512i t2 = ADD(XOR3(ROR(a, 28), ROR(a, 34), ROR(a, 39)), _mm512_ternarylogic_epi64(a, b, c, 0xE8)); \
        d = ADD(d, t1);                                                                           \
        h = ADD(t1, t2);                                                                          \
    } while (0)

// W[t] = σ1(W[t−2]) + W[t−7] + σ0(W[t−15]) + W[t−16], in a ring of 16. Done in increasing t before
// the group's rounds, each step still reads the older words it needs.
#define SCHEDULE(t)                                                                               \
    w[(t) & 15] = ADD(ADD(w[(t) & 15], SIGMA0(w[((t) + 1) & 15])),                                \
                      ADD(w[((t) + 9) & 15], SIGMA1(w[((t) + 14) & 15])))

#define EIGHT_ROUNDS(t)                                                                           \
    do {                                                                                          \
        if ((t) >= 16) {                                                                          \
            SCHEDULE((t) + 0); SCHEDULE((t) + 1); SCHEDULE((t) + 2); SCHEDULE((t) + 3);           \
            SCHEDULE((t) + 4); SCHEDULE((t) + 5); SCHEDULE((t) + 6); SCHEDULE((t) + 7);           \
        }                                                                                         \
        ROUND(a, b, c, d, e, f, g, h, (t) + 0);                                                   \
        ROUND(h, a, b, c, d, e, f, g, (t) + 1);                                                   \
        ROUND(g, h, a, b, c, d, e, f, (t) + 2);                                                   \
        ROUND(f, g, h, a, b, c, d, e, (t) + 3);                                                   \
        ROUND(e, f, g, h, a, b, c, d, (t) + 4);                                                   \
        ROUND(d, e, f, g, h, a, b, c, (t) + 5);                                                   \
        ROUND(c, d, e, f, g, h, a, b, (t) + 6);                                                   \
        ROUND(b, c, d, e, f, g, h, a, (t) + 7);                                                   \
    } while (0)

/// Runs `n` blocks through all eight lanes. Lane i reads its blocks at base + offset[i],
/// base + offset[i] + step[i], …; state[j][i] is word j of lane i.
TARGET static void compress8(uint64_t state[8][LANES], const uint8_t *base, const int64_t offset[LANES],
                             const int64_t step[LANES], size_t n) {
    // Reverses the bytes of each 64-bit word: the message words are big-endian.
    const __m512i swap = _mm512_set_epi64(
        0x08090a0b0c0d0e0fLL, 0x0001020304050607LL, 0x08090a0b0c0d0e0fLL, 0x0001020304050607LL,
        0x08090a0b0c0d0e0fLL, 0x0001020304050607LL, 0x08090a0b0c0d0e0fLL, 0x0001020304050607LL);
    __m512i at = _mm512_loadu_si512(offset), by = _mm512_loadu_si512(step);
    __m512i a = _mm512_loadu_si512(state[0]), b = _mm512_loadu_si512(state[1]);
    __m512i c = _mm512_loadu_si512(state[2]), d = _mm512_loadu_si512(state[3]);
    __m512i e = _mm512_loadu_si512(state[4]), f = _mm512_loadu_si512(state[5]);
    __m512i g = _mm512_loadu_si512(state[6]), h = _mm512_loadu_si512(state[7]);
    while (n--) {
        __m512i w[16];
        for (int t = 0; t < 16; t++) {
            w[t] = _mm512_shuffle_epi8(_mm512_i64gather_epi64(at, base + 8 * t, 1), swap);
        }
        EIGHT_ROUNDS(0); EIGHT_ROUNDS(8); EIGHT_ROUNDS(16); EIGHT_ROUNDS(24); EIGHT_ROUNDS(32);
        EIGHT_ROUNDS(40); EIGHT_ROUNDS(48); EIGHT_ROUNDS(56); EIGHT_ROUNDS(64); EIGHT_ROUNDS(72);
        // The words before this block are read back from memory: 16 message words, 8 working
        // words and 8 saved ones would need every register, and the compiler would spill in the rounds.
        a = ADD(a, _mm512_loadu_si512(state[0])); b = ADD(b, _mm512_loadu_si512(state[1]));
        c = ADD(c, _mm512_loadu_si512(state[2])); d = ADD(d, _mm512_loadu_si512(state[3]));
        e = ADD(e, _mm512_loadu_si512(state[4])); f = ADD(f, _mm512_loadu_si512(state[5]));
        g = ADD(g, _mm512_loadu_si512(state[6])); h = ADD(h, _mm512_loadu_si512(state[7]));
        _mm512_storeu_si512(state[0], a); _mm512_storeu_si512(state[1], b);
        _mm512_storeu_si512(state[2], c); _mm512_storeu_si512(state[3], d);
        _mm512_storeu_si512(state[4], e); _mm512_storeu_si512(state[5], f);
        _mm512_storeu_si512(state[6], g); _mm512_storeu_si512(state[7], h);
        at = ADD(at, by);
    }
}
#else
int kura_sha512x8_available(void) { return 0; }
static void compress8(uint64_t state[8][LANES], const uint8_t *base, const int64_t offset[LANES],
                      const int64_t step[LANES], size_t n) {
    (void)state; (void)base; (void)offset; (void)step; (void)n;
    abort();
}
#endif

/// Puts a message in idle lane `i`: its whole blocks are read in place, the rest is copied and padded.
static void start(Lanes *l, int i, const void *message, size_t length, uint64_t *digest, uint64_t ticket) {
    Lane *lane = &l->lanes[i];
    size_t rest = length % BLOCK;
    lane->body = message;
    lane->bodyBlocks = length / BLOCK;
    lane->tailBlocks = rest < BLOCK - 16 ? 1 : 2;
    lane->tailDone = 0;
    lane->digest = digest;
    lane->ticket = ticket;
    memset(lane->tail, 0, sizeof lane->tail);
    if (rest > 0) memcpy(lane->tail, (const uint8_t *)message + length - rest, rest);
    lane->tail[rest] = 0x80;
    // The length in bits, a 128-bit big-endian number at the end of the last block.
    uint8_t *end = lane->tail + lane->tailBlocks * BLOCK;
    uint64_t bits = (uint64_t)length << 3;
    for (int k = 0; k < 8; k++) end[-1 - k] = (uint8_t)(bits >> (8 * k));
    end[-9] = (uint8_t)(length >> 61);
    for (int j = 0; j < 8; j++) l->state[j][i] = IV[j];
    l->busy++;
}

static int idleLane(const Lanes *l) {
    for (int i = 0; i < LANES; i++) if (l->lanes[i].tailBlocks == 0) return i;
    return -1;
}

/// One kernel call: whole blocks run several at a time while every busy lane has them; a padded
/// block runs alone. Lanes that finish write their digest and go idle.
static void advance(Lanes *l) {
    static const uint8_t idle[BLOCK];  // what an idle lane hashes; its result is never read
    if (l->busy == 0) return;          // else n below would stay SIZE_MAX
    size_t n = SIZE_MAX;
    int64_t offset[LANES], step[LANES];
    for (int i = 0; i < LANES; i++) {
        const Lane *lane = &l->lanes[i];
        const uint8_t *p = idle;
        step[i] = 0;
        if (lane->tailBlocks > 0 && lane->bodyBlocks > 0) {
            p = lane->body;
            step[i] = BLOCK;
            if (lane->bodyBlocks < n) n = lane->bodyBlocks;
        } else if (lane->tailBlocks > 0) {
            p = lane->tail + lane->tailDone * BLOCK;
            n = 1;
        }
        offset[i] = (int64_t)((intptr_t)p - (intptr_t)idle);
    }
    compress8(l->state, idle, offset, step, n);
    for (int i = 0; i < LANES; i++) {
        Lane *lane = &l->lanes[i];
        if (lane->tailBlocks == 0) continue;
        if (lane->bodyBlocks > 0) {
            lane->body += n * BLOCK;
            lane->bodyBlocks -= n;
            continue;
        }
        if (++lane->tailDone < lane->tailBlocks) continue;
        for (int j = 0; j < 4; j++) lane->digest[j] = l->state[j][i];
        lane->tailBlocks = 0;
        l->busy--;
    }
}

typedef struct {
    size_t length;
    size_t message;
} Order;

static int longerFirst(const void *x, const void *y) {
    size_t a = ((const Order *)x)->length, b = ((const Order *)y)->length;
    return a < b ? 1 : a > b ? -1 : 0;
}

void kura_sha512_256_many(const void *const *messages, const size_t *lengths, size_t count, uint64_t *digests) {
    if (count == 0) return;
    Order *order = malloc(count * sizeof *order);
    if (order == NULL) abort();
    for (size_t m = 0; m < count; m++) order[m] = (Order){lengths[m], m};
    qsort(order, count, sizeof *order, longerFirst);
    Lanes l = {.busy = 0};
    size_t next = 0;
    do {
        for (int i; next < count && (i = idleLane(&l)) >= 0; next++) {
            size_t m = order[next].message;
            start(&l, i, messages[m], lengths[m], digests + 4 * m, next);
        }
        advance(&l);
    } while (l.busy > 0 || next < count);
    free(order);
}

struct kura_sha512x8_stream {
    Lanes lanes;
    uint64_t tickets;
};

kura_sha512x8_stream *kura_sha512x8_stream_new(void) {
    kura_sha512x8_stream *s = aligned_alloc(64, (sizeof *s + 63) / 64 * 64);
    if (s == NULL) abort();
    memset(s, 0, sizeof *s);
    return s;
}

void kura_sha512x8_stream_free(kura_sha512x8_stream *s) { free(s); }

uint64_t kura_sha512x8_stream_add(kura_sha512x8_stream *s, const void *message, size_t length, uint64_t *digest) {
    while (s->lanes.busy == LANES) advance(&s->lanes);
    start(&s->lanes, idleLane(&s->lanes), message, length, digest, s->tickets);
    return s->tickets++;
}

void kura_sha512x8_stream_finish(kura_sha512x8_stream *s, uint64_t through) {
    for (;;) {
        int waiting = 0;
        for (int i = 0; i < LANES; i++) {
            const Lane *lane = &s->lanes.lanes[i];
            if (lane->tailBlocks > 0 && lane->ticket <= through) waiting = 1;
        }
        if (!waiting) return;
        advance(&s->lanes);
    }
}

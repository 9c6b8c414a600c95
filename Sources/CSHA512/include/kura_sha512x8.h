// SHA-512/256 of many messages at once, eight in the lanes of AVX-512 registers.
//
// Why: hashing is a third of `make`'s CPU time and two thirds of `extract`'s, and one SHA-512 stream
// cannot use a vector unit for its rounds (each round needs the one before). Eight independent
// chunks can: one vprorq/vpternlogq does a step of eight rounds. Swift cannot name AVX-512
// intrinsics, so this is C, like CCRC32C.
#ifndef KURA_SHA512X8_H
#define KURA_SHA512X8_H
#include <stddef.h>
#include <stdint.h>

/// 1 if `kura_sha512_256_many` may be called on this CPU (AVX-512 F and BW), else 0.
int kura_sha512x8_available(void);

/// Hashes messages[i] (lengths[i] bytes) with SHA-512/256 for every i < count and writes the digest's
/// four 64-bit words (its bytes read big-endian) to digests[4i ..< 4i+4]. Lanes that finish take the
/// next message, longest first, so unequal lengths leave few lanes idle.
/// - Precondition: `kura_sha512x8_available()`.
void kura_sha512_256_many(const void *const *messages, const size_t *lengths, size_t count, uint64_t *digests);

/// Lanes kept full across calls, for callers that get chunks one at a time (extract's output runs):
/// a chunk is hashed while later ones are added, and the kernel runs with all eight lanes busy
/// until a caller needs a digest. Not thread-safe: one per thread.
typedef struct kura_sha512x8_stream kura_sha512x8_stream;

kura_sha512x8_stream *kura_sha512x8_stream_new(void);
void kura_sha512x8_stream_free(kura_sha512x8_stream *stream);

/// Adds a message, which must stay readable, and `digest` writable (4 words), until its digest is
/// written. Hashes first if all lanes are busy. Returns the message's ticket: 0, 1, 2, … per stream.
uint64_t kura_sha512x8_stream_add(kura_sha512x8_stream *stream, const void *message, size_t length, uint64_t *digest);

/// Hashes until every message whose ticket is at most `through` has its digest written.
void kura_sha512x8_stream_finish(kura_sha512x8_stream *stream, uint64_t through);

#endif

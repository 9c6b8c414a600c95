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

#endif

// A peer for kura-bench, not part of Kura: Abseil's B-tree (`absl::btree_set`, Google's
// cache-friendly ordered container, 256-byte nodes) of (value, key) pairs, behind a C interface so
// Swift can call it without C++ interop. The memory tier's ordered index is measured beside it.
#ifndef KURA_PEER_BTREE_H
#define KURA_PEER_BTREE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct KuraPeerBTree KuraPeerBTree;

KuraPeerBTree *kura_peer_btree_create(void);
void kura_peer_btree_destroy(KuraPeerBTree *tree);
/// Adds (value, key); false if it was there already.
bool kura_peer_btree_insert(KuraPeerBTree *tree, int64_t value, int64_t key);
/// Removes (value, key); false if it was not there.
bool kura_peer_btree_erase(KuraPeerBTree *tree, int64_t value, int64_t key);
int64_t kura_peer_btree_count(const KuraPeerBTree *tree);
/// Writes the keys of the entries whose value lies in [low, high), in order, up to `capacity`;
/// returns how many it wrote.
int64_t kura_peer_btree_range(const KuraPeerBTree *tree, int64_t low, int64_t high, int64_t *keys, int64_t capacity);

#ifdef __cplusplus
}
#endif

#endif

// See include/CPeerBTree.h.
#include "CPeerBTree.h"

#include <absl/container/btree_set.h>

#include <limits>
#include <utility>

struct KuraPeerBTree {
    absl::btree_set<std::pair<int64_t, int64_t>> entries;
};

extern "C" {

KuraPeerBTree *kura_peer_btree_create(void) { return new KuraPeerBTree(); }

void kura_peer_btree_destroy(KuraPeerBTree *tree) { delete tree; }

bool kura_peer_btree_insert(KuraPeerBTree *tree, int64_t value, int64_t key) {
    return tree->entries.insert({value, key}).second;
}

bool kura_peer_btree_erase(KuraPeerBTree *tree, int64_t value, int64_t key) {
    return tree->entries.erase({value, key}) == 1;
}

int64_t kura_peer_btree_count(const KuraPeerBTree *tree) { return static_cast<int64_t>(tree->entries.size()); }

int64_t kura_peer_btree_range(const KuraPeerBTree *tree, int64_t low, int64_t high, int64_t *keys, int64_t capacity) {
    int64_t n = 0;
    auto it = tree->entries.lower_bound({low, std::numeric_limits<int64_t>::min()});
    for (; it != tree->entries.end() && it->first < high && n < capacity; ++it) keys[n++] = it->second;
    return n;
}

}

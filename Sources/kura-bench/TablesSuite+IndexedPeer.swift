// The put figure's second peer: the same job done by hand from good parts — the rows in a
// Dictionary, an owner → ids map for the hash index, and Abseil's B-tree of (score, id) for the
// ordered index (`CPeerBTree`), all under one Mutex. The first peer (a Dictionary alone) shows
// what the indexes cost; this one shows what keeping them costs elsewhere, measured in the same
// run on the same writes.
import CPeerBTree
import Synchronization
import Tables

extension TablesSuite {
    final class IndexedPeer: @unchecked Sendable {  // `byScore` is touched only under `state`'s lock
        struct State {
            var rows: [Int64: BenchRow] = [:]
            var byOwner: [Int64: [Int64]] = [:]
        }
        let state = Mutex(State())
        let byScore: OpaquePointer
        /// Which indexes the table keeps (`--indexes`): the peer keeps the same.
        let keepsOwner: Bool
        let keepsScore: Bool

        init(_ rows: [BenchRow], keepsOwner: Bool, keepsScore: Bool) {
            byScore = kura_peer_btree_create()
            (self.keepsOwner, self.keepsScore) = (keepsOwner, keepsScore)
            state.withLock { s in
                s.rows.reserveCapacity(rows.count)
                for r in rows {
                    s.rows[r.id] = r
                    if keepsOwner { s.byOwner[r.owner, default: []].append(r.id) }
                    if keepsScore { kura_peer_btree_insert(byScore, r.score, r.id) }
                }
            }
        }

        deinit { kura_peer_btree_destroy(byScore) }

        /// Upserts `r`, moving its index entries when its indexed values change.
        func put(_ r: BenchRow) {
            state.withLock { s in
                guard let old = s.rows.updateValue(r, forKey: r.id) else {
                    if keepsOwner { s.byOwner[r.owner, default: []].append(r.id) }
                    if keepsScore { kura_peer_btree_insert(byScore, r.score, r.id) }
                    return
                }
                if keepsOwner && old.owner != r.owner {
                    s.byOwner[old.owner]?.removeOne(r.id)
                    s.byOwner[r.owner, default: []].append(r.id)
                }
                if keepsScore && old.score != r.score {
                    let erased = kura_peer_btree_erase(byScore, old.score, r.id)
                    precondition(erased, "indexed peer: (\(old.score), \(r.id)) missing from the B-tree")
                    kura_peer_btree_insert(byScore, r.score, r.id)
                }
            }
        }

        /// Whether the peer holds what `table` holds for `keys`, so both did the same job: the
        /// rows' indexed values, each row under its owner once, and one B-tree entry per row.
        func agrees(with table: Table<BenchRow>, keys: some Sequence<Int64>, rows: Int) -> Bool {
            state.withLock { s in
                if keepsScore && kura_peer_btree_count(byScore) != Int64(rows) { return false }
                // Every row under exactly one owner: a put that skipped the removal would leave two.
                if keepsOwner && s.byOwner.values.reduce(0, { $0 + $1.count }) != rows { return false }
                for k in keys {
                    guard let mine = s.rows[k], let theirs = table.get(k),
                          mine.owner == theirs.owner, mine.score == theirs.score else { return false }
                    if keepsOwner && !(s.byOwner[mine.owner] ?? []).contains(k) { return false }
                    if keepsScore {
                        var found: [Int64] = Array(repeating: 0, count: 64)
                        let n = kura_peer_btree_range(byScore, mine.score, mine.score + 1, &found, 64)
                        if !found.prefix(Int(n)).contains(k) { return false }
                    }
                }
                return true
            }
        }
    }
}

extension Array where Element: Equatable {
    /// Removes one occurrence of `element` (the last element takes its place).
    mutating func removeOne(_ element: Element) {
        guard let i = firstIndex(of: element) else { return }
        swapAt(i, count - 1)
        removeLast()
    }
}

extension TablesSuite {
    /// Whether the table's own indexes find each of `keys` under its current owner and score.
    static func tableIndexesAgree(_ table: Table<BenchRow>, _ keys: [Int64], hash: Bool, ordered: Bool) -> Bool {
        for k in keys {
            guard let r = table.get(k) else { return false }
            if hash, !(try! table.select(Query(.equal(owner, .int(r.owner))))).contains(where: { $0.id == k }) { return false }
            let exactly = Query<BenchRow>(.range(score, lower: Bound(.int(r.score), inclusive: true), upper: Bound(.int(r.score), inclusive: true)))
            if ordered, !(try! table.select(exactly)).contains(where: { $0.id == k }) { return false }
        }
        return true
    }
}

// Held-back index moves: a write that changes an integer column of a non-unique index records
// the move (slot, key, old value, new value) here instead of updating the index at once, and the
// moves are applied together — when `pendingCapacity` have gathered, or before anything reads
// those indexes (a query through an index, a removal, a consistency check). Every read sees
// indexes that agree with the records, as if each write had updated them itself.
//
// Why: a move reads lines at four random places that only the old record names (two hash words,
// two slot lists, two ordered leaves and their top-level blocks), so a write that moves its own
// entries waits on two or three misses in a row after its record arrives. Applied as a batch,
// move j's updates run while the lines of moves j+1 … j+lead are already on their way: the
// misses overlap across writes, which no single write can arrange. InnoDB's change buffer defers
// secondary-index work for the same reason. Unique indexes are never deferred: a write must see
// every conflict before it is acknowledged. Nor are columns read by closure (their values are
// any `IndexValue`; integer key-path columns are the common case and the ones measured).

/// One held-back move of `slot`'s entry in index `index` from `before` to `after` (integers).
struct PendingMove<Key: Sendable>: Sendable {
    var index: Int32
    var slot: Int32
    var key: Key
    var before: Int64
    var after: Int64
    /// Filled by the first stage of `settleIndexes`: hash indexes' hashes of both values, or
    /// ordered indexes' sample numbers for them.
    var stateBefore: Int64 = 0
    var stateAfter: Int64 = 0
    /// Filled by the second stage for ordered indexes: each value's leaf rank (a guess, -1: none).
    var leafBefore = -1
    var leafAfter = -1
}

extension TableState {
    /// Moves gathered before they are applied. A batch of 64 gives the overlap (its stages look
    /// only a few moves ahead) while the write that applies it holds the lock for tens of
    /// microseconds; 16 and 128 measured no faster.
    static var pendingCapacity: Int { 64 }
    /// How many moves ahead the two stages of `settleIndexes` run: hash words and top-level
    /// blocks are requested `firstLead` moves ahead, lists and leaves `secondLead` moves ahead.
    /// A move requests about 30 lines, which keeps the core's line-fill buffers full: leads of
    /// 4 and 2 measured as fast as 8/4 and 16/8, and faster than 1/0 (no pipeline) by 40 %.
    static var firstLead: Int { 4 }
    static var secondLead: Int { 2 }

    /// Whether index `i`'s moves may be held back: a non-unique index on an integer key-path column.
    static func defers(_ spec: IndexSpec<Row>) -> Bool { !spec.unique && spec.column.offset != nil }

    /// Records a move of `slot`'s entry in index `i`. The write applies the batch when it is full
    /// (`settleIfFull`), only once it has held back all its moves: applied in between, a batch
    /// could promote a heavy value while the write's own record disagrees with an index it has
    /// not reached yet (see `promoteHeavy`).
    @inline(__always)
    mutating func holdBack(_ i: Int, _ slot: Int32, _ key: Row.Key, from before: Int64, to after: Int64) {
        pendingMoves.append(PendingMove(index: Int32(truncatingIfNeeded: i), slot: slot, key: key, before: before, after: after))
    }

    @inline(__always)
    mutating func settleIfFull() {
        if pendingMoves.count >= Self.pendingCapacity { settleIndexes() }
    }

    /// The slots with a move in index `i` among `moves` (not yet applied): `promoteHeavy` leaves them.
    static func slots(movingIn i: Int, _ moves: some Sequence<PendingMove<Row.Key>>) -> Set<Int32> {
        Set(moves.lazy.filter { Int($0.index) == i }.map(\.slot))
    }

    /// Applies every held-back move, in the order the writes made them.
    @inline(__always)
    mutating func settle() {
        if !pendingMoves.isEmpty { settleIndexes() }
    }

    /// Applies the held-back moves as a pipeline: while move j is applied, moves j+1 … j+lead
    /// have their lines requested. A stage's guesses (leaf ranks) may go stale as earlier moves
    /// split or merge leaves; the update checks them and searches again if so.
    mutating func settleIndexes() {
        var moves = ContiguousArray<PendingMove<Row.Key>>()
        swap(&moves, &pendingMoves)
        let n = moves.count
        moves.withUnsafeMutableBufferPointer { moves in
            for j in 0..<min(Self.firstLead, n) { indexes[Int(moves[j].index)].requestWords(&moves[j]) }
            for j in 0..<min(Self.secondLead, n) { indexes[Int(moves[j].index)].requestLeaves(&moves[j]) }
            for j in 0..<n {
                if j + Self.firstLead < n {
                    indexes[Int(moves[j + Self.firstLead].index)].requestWords(&moves[j + Self.firstLead])
                }
                if j + Self.secondLead < n {
                    indexes[Int(moves[j + Self.secondLead].index)].requestLeaves(&moves[j + Self.secondLead])
                }
                let i = Int(moves[j].index)
                if indexes[i].apply(moves[j]) {
                    promoteHeavy(i, .int(moves[j].after), leaving: Self.slots(movingIn: i, moves[(j + 1)...]))
                }
            }
        }
        moves.removeAll(keepingCapacity: true)
        swap(&moves, &pendingMoves)  // keep the buffer's capacity for the next batch
    }
}

extension SecondaryIndex {
    /// First stage of a held-back move: a hash index hashes both values and requests their
    /// words; an ordered index requests the top-level blocks its searches will read.
    @inline(__always)
    mutating func requestWords(_ move: inout PendingMove<Row.Key>) {
        switch spec.kind {
        case .hash:
            let before = hash.hash(int: move.before)
            let after = hash.hash(int: move.after)
            hash.prefetchRun(hash: before)
            hash.prefetchRun(hash: after)
            move.stateBefore = Int64(bitPattern: before)
            move.stateAfter = Int64(bitPattern: after)
        case .ordered:
            move.stateBefore = Int64(ordered.prefetchTop(ordered.hint(int: move.before)))
            move.stateAfter = Int64(ordered.prefetchTop(ordered.hint(int: move.after)))
        }
    }

    /// Second stage: a hash index reads the words and requests the slot lists; an ordered index
    /// searches its blocks and requests both leaves, keeping their ranks as guesses.
    @inline(__always)
    mutating func requestLeaves(_ move: inout PendingMove<Row.Key>) {
        switch spec.kind {
        case .hash:
            hash.prefetchList(hash: UInt64(bitPattern: move.stateBefore))
            hash.prefetchList(hash: UInt64(bitPattern: move.stateAfter))
        case .ordered:
            move.leafBefore = ordered.prefetchLeaf(hint: ordered.hint(int: move.before), sample: Int(move.stateBefore))
            move.leafAfter = ordered.prefetchLeaf(hint: ordered.hint(int: move.after), sample: Int(move.stateAfter))
        }
    }

    /// Last stage, after both others (`settleIndexes` runs every move through them): removes the
    /// old entry and adds the new one. Returns true when a hash index asks for `promoteHeavy` of
    /// the new value. Leaf ranks are only guesses, checked where they are used.
    @inline(__always)
    mutating func apply(_ move: PendingMove<Row.Key>) -> Bool {
        switch spec.kind {
        case .hash:
            hash.remove(.int(move.before), move.slot, hash: UInt64(bitPattern: move.stateBefore))
            return hash.insert(.int(move.after), move.slot, hash: UInt64(bitPattern: move.stateAfter))
        case .ordered:
            let removed = ordered.remove(.int(move.before), move.key, leafGuess: move.leafBefore)
            precondition(removed, "ordered index \(spec.name) lacks (\(move.before), \(move.key))")
            ordered.insert(.int(move.after), move.key, move.slot, leafGuess: move.leafAfter)
            return false
        }
    }
}


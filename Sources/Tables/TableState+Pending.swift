// Held-back index moves: a write that changes an integer column of a non-unique index records
// the move (slot, key, old value, new value) in a queue instead of updating the index at once.
// Once `pendingBacklog` moves wait, each write applies the oldest few, and every waiting move is
// applied before anything reads those indexes (a query through an index, a removal, a
// consistency check). Every read sees indexes that agree with the records, as if each write had
// updated them itself.
//
// Why: a move reads lines at four random places that only the old record names (two hash words,
// two slot lists, two ordered leaves and their top-level blocks), so a write that moves its own
// entries waits on two or three misses in a row after its record arrives. Applied from a queue,
// move j's updates run while the lines of moves j+1 … j+lead are already on their way (requested
// by the write before, often): the misses overlap across writes, which no single write can
// arrange. Round 7 applied 64 moves at once; a few per write is as fast on average and keeps
// the slowest writes (p99) about 7× shorter (BENCHMARKS.md, round 8). InnoDB's change buffer defers
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
    /// Filled by the first stage of `applyPending`: hash indexes' hashes of both values, or
    /// ordered indexes' sample numbers for them.
    var stateBefore: Int64 = 0
    var stateAfter: Int64 = 0
    /// Filled by the second stage for ordered indexes: each value's leaf rank (a guess, -1: none).
    var leafBefore = -1
    var leafAfter = -1
}

extension TableState {
    /// Applied moves are dropped from the front of the queue once this many have gathered.
    static var pendingCapacity: Int { 64 }
    /// Moves that wait before writes start applying them, and how many a write applies: the
    /// backlog leaves room for the stages to run ahead; applying 4 at a time is as fast as 2 and
    /// as 64 (round 7's batches), and a write holds the lock for a few microseconds at most.
    static var pendingBacklog: Int { 16 }
    static var pendingStep: Int { 4 }
    /// How many moves ahead the two stages of `applyPending` run: hash words and top-level
    /// blocks are requested `firstLead` moves ahead, lists and leaves `secondLead` moves ahead.
    /// A move requests about 30 lines, which keeps the core's line-fill buffers full: leads of
    /// 4 and 2 measured as fast as 8/4 and 16/8, and faster than 1/0 (no pipeline) by 40 %.
    static var firstLead: Int { 4 }
    static var secondLead: Int { 2 }

    /// Whether index `i`'s moves may be held back: a non-unique index on an integer key-path column.
    static func defers(_ spec: IndexSpec<Row>) -> Bool { !spec.unique && spec.column.offset != nil }

    /// Records a move of `slot`'s entry in index `i`. The write applies waiting moves
    /// (`settleBacklog`) only once it has held back all its moves: applied in between, a move
    /// could promote a heavy value while the write's own record disagrees with an index it has
    /// not reached yet (see `promoteHeavy`).
    @inline(__always)
    mutating func holdBack(_ i: Int, _ slot: Int32, _ key: Row.Key, from before: Int64, to after: Int64) {
        pendingMoves.append(PendingMove(index: Int32(truncatingIfNeeded: i), slot: slot, key: key, before: before, after: after))
    }

    /// Once `pendingBacklog` moves wait, a write applies `pendingStep` of them, and more if it held
    /// back more (a write changing five deferred indexes): the queue never grows past the
    /// backlog, and no write waits on many.
    @inline(__always)
    mutating func settleBacklog() {
        let waiting = pendingMoves.count - pendingApplied
        if waiting >= Self.pendingBacklog { applyPending(Self.pendingStep + waiting - Self.pendingBacklog) }
    }

    /// The slots with a move in index `i` among `moves` (not yet applied): `promoteHeavy` leaves them.
    static func slots(movingIn i: Int, _ moves: some Sequence<PendingMove<Row.Key>>) -> Set<Int32> {
        Set(moves.lazy.filter { Int($0.index) == i }.map(\.slot))
    }

    /// Applies every held-back move, in the order the writes made them.
    @inline(__always)
    mutating func settle() {
        if pendingApplied < pendingMoves.count { applyPending(pendingMoves.count - pendingApplied) }
    }

    /// Applies the next `count` held-back moves as a pipeline: while move j is applied, moves
    /// j+1 … j+lead have their lines requested. The stages run ahead across calls (`pendingWords`,
    /// `pendingLeaves`), so lines requested at the end of one write arrive during the next. A
    /// stage's guesses (leaf ranks) may go stale as earlier moves split or merge leaves; the
    /// update checks them and searches again if so.
    mutating func applyPending(_ count: Int) {
        let end = pendingApplied + count
        precondition(end <= pendingMoves.count, "apply \(count) of \(pendingMoves.count - pendingApplied) held-back moves")
        let n = pendingMoves.count
        var applied = pendingApplied, words = pendingWords, leaves = pendingLeaves
        var queue = ContiguousArray<PendingMove<Row.Key>>()
        swap(&queue, &pendingMoves)  // out of `self`, which the updates below mutate
        queue.withUnsafeMutableBufferPointer { moves in
            while applied < end {
                while words < min(applied + Self.firstLead + 1, n) {
                    indexes[Int(moves[words].index)].requestWords(&moves[words])
                    words += 1
                }
                while leaves < min(applied + Self.secondLead + 1, n) {
                    indexes[Int(moves[leaves].index)].requestLeaves(&moves[leaves])
                    leaves += 1
                }
                let i = Int(moves[applied].index)
                if indexes[i].apply(moves[applied]) {
                    promoteHeavy(i, .int(moves[applied].after), leaving: Self.slots(movingIn: i, moves[(applied + 1)...]))
                }
                applied += 1
            }
        }
        assert(pendingMoves.isEmpty, "held-back moves recorded while the queue was applied")
        swap(&queue, &pendingMoves)
        // Applied moves are dropped when none wait, or now and then, so the queue stays short.
        if applied == n || applied >= Self.pendingCapacity {
            pendingMoves.removeFirst(applied)  // keeps the buffer's capacity
            (applied, words, leaves) = (0, words - applied, leaves - applied)
        }
        (pendingApplied, pendingWords, pendingLeaves) = (applied, words, leaves)
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


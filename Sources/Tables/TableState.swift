// The table's state behind its lock: records, primary and secondary indexes, feed, TTL heap and
// eviction bits. Each public operation validates first and mutates after, so a thrown error
// leaves nothing changed; inside a transaction every mutation also records how to undo it.

enum Undo<Row: TableRecord>: Sendable {
    case placed(Int32)
    case replaced(Int32, Entry<Row>)
    case removed(Entry<Row>)
}

public struct TableState<Row: TableRecord>: Sendable {
    let schema: TableSchema<Row>
    let options: TableOptions<Row>
    var slab = Slab<Row>()
    var primary = KeyMap<Row.Key>()
    var indexes: [SecondaryIndex<Row>]
    /// Numbers of the unique indexes, checked on every write.
    let uniqueIndexes: [Int]
    /// Numbers of the hash indexes whose moves are not held back: a write requests their words
    /// before it reads its record.
    let hashIndexes: [Int]
    /// By index number: whether its moves are held back (`TableState+Pending`).
    let defersMoves: [Bool]
    /// Held-back index moves, in write order; applied before any read of those indexes.
    var pendingMoves = ContiguousArray<PendingMove<Row.Key>>()
    /// Moves before it in `pendingMoves` are applied; before `pendingWords` and `pendingLeaves`,
    /// their first and second stages have run (see `applyPending`).
    var pendingApplied = 0
    var pendingWords = 0
    var pendingLeaves = 0
    /// Each index's column reader, by index number. Hot paths read columns here and call only
    /// mutating methods on `indexes[i]`: reading `indexes[i].spec`, or calling a non-mutating method
    /// on `indexes[i]`, goes through the array's getter, which copies the whole index (a retain and a
    /// release per array inside it) — also through withUnsafeBufferPointer (measured with callgrind).
    let valueOf: [@Sendable (Row) -> IndexValue]
    /// Each index's column offset (`Column.offset`), -1 where its closure must be called: kept
    /// apart from `valueOf` so that reading it copies no closure (see `column`).
    let columnOffsets: [Int]
    var feed: ChangeFeed<Row>
    var nextPosition: UInt64
    var bytes = 0
    /// Records with a finite expiry; while zero, reads need no clock.
    var expiringCount = 0
    var expiries = ExpiryHeap<Row.Key>()
    /// CLOCK reference bits by slot, kept only when the table has a limit.
    var referenced: [Bool] = []
    var clockHand = 0
    var evictions = 0
    var expirations = 0
    var inTransaction = false
    var transactionStart: UInt64 = 0
    var transactionCounters = (evictions: 0, expirations: 0)
    var pending: [Change<Row>] = []
    /// Readers suspended in `Table.waitForChanges`, by ticket.
    var feedWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    var nextWaiterTicket = 0
    var undo: [Undo<Row>] = []

    init(schema: TableSchema<Row>, options: TableOptions<Row>, after position: UInt64 = 0) {
        self.schema = schema
        self.options = options
        self.indexes = schema.indexes.map { SecondaryIndex(spec: $0) }
        self.uniqueIndexes = schema.indexes.indices.filter { schema.indexes[$0].unique }
        self.defersMoves = schema.indexes.map(Self.defers)
        self.hashIndexes = schema.indexes.indices.filter { schema.indexes[$0].kind == .hash && !Self.defers(schema.indexes[$0]) }
        self.valueOf = schema.indexes.map(\.column.value)
        self.columnOffsets = schema.indexes.map { $0.column.offset ?? -1 }
        self.feed = ChangeFeed(capacity: options.feedCapacity, after: position)
        self.nextPosition = position + 1
    }

    /// Index `i`'s value for `row`.
    @inline(__always)
    func column(_ i: Int, _ row: Row) -> IndexValue {
        let offset = columnOffsets[i]
        if offset >= 0 { return .int(ColumnReader<Row>.int(at: offset, of: row)) }
        return valueOf[i](row)
    }

    /// Index `i`'s column reader, for closures that run while an index is reached in place.
    func reader(_ i: Int) -> ColumnReader<Row> { ColumnReader(offset: columnOffsets[i], value: valueOf[i]) }

    var isLimited: Bool { options.rowLimit != nil || options.byteLimit != nil }
    var count: Int { primary.count }

    /// Whether reads must know the time (some record may have expired).
    var needsClock: Bool { expiringCount > 0 }

    @inline(__always)
    func liveSlot(_ key: Row.Key, now: Int64) -> Int32? {
        guard let slot = primary[key], now == .min || slab.expiry(slot) > now else { return nil }
        return slot
    }

    // MARK: primitives (no validation; callers have validated)

    mutating func place(_ row: Row, version: UInt64, expiry: Int64, flushed: UInt64) -> Int32 {
        let slot = slab.allocate(Entry(row: row, version: version, expiry: expiry, flushed: flushed))
        primary[row.key] = slot
        for i in indexes.indices {
            let value = column(i, row)
            if indexes[i].add(value, row.key, slot) { promoteHeavy(i, value, leaving: Self.slots(movingIn: i, pendingMoves[pendingApplied...])) }
        }
        bytes += options.weigh(row)
        if expiry != .max {
            expiringCount += 1
            expiries.push(expiry, row.key)
        }
        if isLimited {
            if Int(slot) == referenced.count { referenced.append(false) } else { referenced[Int(slot)] = false }
        }
        return slot
    }

    /// Replaces `old`, the entry in `slot`, by `new` (same key), moving index entries that changed;
    /// `extraBytes` is the new record's weight minus the old one's.
    mutating func rewrite(_ slot: Int32, _ new: Entry<Row>, replacing old: Entry<Row>, extraBytes: Int) {
        let oldRow = old.row!
        let newRow = new.row!
        precondition(oldRow.key == newRow.key, "rewrite of slot \(slot) changes key \(oldRow.key) to \(newRow.key)")
        slab[slot] = new  // first, so that a heavy-value promotion reads every record as indexed
        // The common write (a position update) changes no indexed value: an integer column is
        // compared at its offset before anything is set up (measured: 80 instructions a write).
        // Deferred indexes' moves are held back; the others, from the first that changed, move now.
        var firstMoving = -1
        for i in indexes.indices {
            let offset = columnOffsets[i]
            if offset >= 0 {
                let before = ColumnReader.int(at: offset, of: oldRow)
                let after = ColumnReader.int(at: offset, of: newRow)
                if before == after { continue }
                if defersMoves[i] {
                    holdBack(i, slot, newRow.key, from: before, to: after)
                    continue
                }
            }
            if firstMoving < 0 && column(i, oldRow) != column(i, newRow) { firstMoving = i }
        }
        if firstMoving >= 0 { moveEntries(slot, oldRow, newRow, from: firstMoving) }
        settleBacklog()  // after every index's move is held back or made (see `holdBack`)
        bytes += extraBytes
        if old.expiry != .max { expiringCount -= 1 }
        if new.expiry != .max {
            expiringCount += 1
            if new.expiry != old.expiry { expiries.push(new.expiry, newRow.key) }
        }
    }

    /// Moves the entries of `slot` in the indexes that are not deferred, from index `first` on,
    /// whose value differs between `oldRow` and `newRow`. Each column is read once per row here
    /// (`rewrite` read index `first`'s once more to find it; a read through `valueOf[i]` retains
    /// its closure, and only closure or unique columns come here), and every changed index's lines are
    /// requested before any is updated, so that their misses overlap: hash words and top-level
    /// blocks first, then the hash lists and leaves they point to.
    private mutating func moveEntries(_ slot: Int32, _ oldRow: Row, _ newRow: Row, from first: Int) {
        withUnsafeTemporaryAllocation(of: IndexMove.self, capacity: indexes.count - first) { moves in
            var count = 0
            for i in first..<indexes.count where !defersMoves[i] {
                let before = column(i, oldRow)
                let after = column(i, newRow)
                if before != after {
                    (moves.baseAddress! + count).initialize(to: IndexMove(index: i, before: before, after: after))
                    count += 1
                }
            }
            // Moves are reached in place (inout) and finally moved out: a copy of an `IndexValue`
            // goes through its outlined copy function, several per write if each step took one.
            for k in 0..<count { indexes[moves[k].index].prepare(&moves[k]) }
            for k in 0..<count { indexes[moves[k].index].prepareLeaves(&moves[k]) }
            for k in 0..<count {
                let move = (moves.baseAddress! + k).move()
                indexes[move.index].remove(move.before, oldRow.key, slot, leafGuess: move.beforeLeaf, hashOfValue: move.beforeHash)
                if indexes[move.index].add(move.after, newRow.key, slot, leafGuess: move.afterLeaf, hashOfValue: move.afterHash) {
                    promoteHeavy(move.index, move.after)
                }
            }
        }
    }

    /// Moves every slot holding `value` in hash index `i` out of its probe table (see `HashIndex`).
    /// `waiting`: slots with held-back moves in index `i` not applied yet. Their records may hold
    /// `value` while the index still has them under another value whose hash collides (the same
    /// list), so they stay where they are: each move's remove finds its entry in the table.
    mutating func promoteHeavy(_ i: Int, _ value: IndexValue, leaving waiting: Set<Int32> = []) {
        let valueOf = reader(i)
        var slots: [Int32] = []
        _ = indexes[i].hash.forEachCandidate(value) { slot in
            if valueOf(slab.row(slot)!) == value && !waiting.contains(slot) { slots.append(slot) }
            return true
        }
        indexes[i].hash.promote(value, slots)
    }

    mutating func unplace(_ slot: Int32) -> Entry<Row> {
        settle()  // the record's held-back moves first: its entries are removed by its values
        let entry = slab.release(slot)
        let row = entry.row!
        primary.remove(row.key)
        for i in indexes.indices { indexes[i].remove(column(i, row), row.key, slot) }
        bytes -= options.weigh(row)
        if entry.expiry != .max { expiringCount -= 1 }
        return entry
    }

    /// Hands out the next feed position and records the change (held back until commit inside a
    /// transaction).
    @discardableResult
    mutating func emit(_ kind: ChangeKind, _ key: Row.Key, _ row: Row?) -> UInt64 {
        let position = nextPosition
        nextPosition += 1
        let change = Change(position: position, kind: kind, key: key, row: row)
        if inTransaction {
            pending.append(change)
        } else {
            feed.append(change)
            if !feedWaiters.isEmpty { wakeFeedWaiters() }
        }
        return position
    }

    /// Removes a record as a change of `kind` (delete, expire or evict).
    mutating func drop(_ slot: Int32, _ kind: ChangeKind) {
        let entry = unplace(slot)
        emit(kind, entry.row!.key, nil)
        switch kind {
        case .evict: evictions += 1
        case .expire: expirations += 1
        default: break
        }
        if inTransaction { undo.append(.removed(entry)) }
    }

    // MARK: transactions

    mutating func begin() {
        precondition(!inTransaction, "table \(schema.name): nested transaction")
        inTransaction = true
        transactionStart = nextPosition
        transactionCounters = (evictions, expirations)
    }

    mutating func commit() {
        precondition(inTransaction, "table \(schema.name): commit outside a transaction")
        for change in pending { feed.append(change) }
        if !feedWaiters.isEmpty && !pending.isEmpty { wakeFeedWaiters() }
        pending.removeAll(keepingCapacity: true)
        undo.removeAll(keepingCapacity: true)
        inTransaction = false
    }

    mutating func rollback() {
        precondition(inTransaction, "table \(schema.name): rollback outside a transaction")
        while let step = undo.popLast() {
            switch step {
            case .placed(let slot): _ = unplace(slot)
            case .replaced(let slot, let old):
                let current = slab[slot]
                rewrite(slot, old, replacing: current, extraBytes: options.weightChange(from: current.row!, to: old.row!))
            case .removed(let old):
                _ = place(old.row!, version: old.version, expiry: old.expiry, flushed: old.flushed)
            }
        }
        pending.removeAll(keepingCapacity: true)
        nextPosition = transactionStart
        (evictions, expirations) = transactionCounters
        inTransaction = false
    }

    /// Runs a multi-step change all-or-nothing, inside the caller's transaction if there is one.
    mutating func atomically<R>(_ body: (inout TableState) throws(TableError) -> R) throws(TableError) -> R {
        if inTransaction { return try body(&self) }
        begin()
        do {
            let result = try body(&self)
            commit()
            return result
        } catch {
            rollback()
            throw error
        }
    }
}

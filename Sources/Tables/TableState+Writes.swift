// Writes by key. Each one first finds every reason to refuse (duplicate or missing key, version,
// unique index, capacity), then clears what must go (expired holders, eviction victims), then
// writes and emits its change.

extension TableState {
    func describe(_ key: Row.Key) -> String { "\(schema.name)[\(key)]" }

    func resolve(_ expiry: Expiry, now: Int64, current: Int64?) -> Int64 {
        switch expiry {
        case .default:
            if let current { return current }
            guard let ttl = options.defaultTTL else { return .max }
            return now.addingClamped(ttl.nanoseconds)
        case .never: return .max
        case .after(let ttl): return now.addingClamped(ttl.nanoseconds)
        case .at(let instant): return instant.nanoseconds
        }
    }

    /// Throws if `row` would collide in a unique index with a live record other than `slot`;
    /// collects expired holders, which the write removes first.
    mutating func checkUnique(_ row: Row, replacing slot: Int32?, now: Int64, purge: inout [Int32]) throws(TableError) {
        // By number: `for index in indexes` would copy every index (see `valueOf`) per write.
        if uniqueIndexes.isEmpty { return }
        let slab = slab  // read while the index is reached in place
        for i in uniqueIndexes {
            let valueOf = reader(i)
            let value = valueOf(row)
            let found = indexes[i].holder(of: value) { valueOf(slab.row($0)!) == value }
            guard let holder = found, holder != slot else { continue }
            if slab[holder].expiry > now { throw .uniqueViolation(index: schema.indexes[i].name, value: value) }
            if !purge.contains(holder) { purge.append(holder) }
        }
    }

    // MARK: insert, update, delete

    mutating func insert(_ row: Row, expiry: Expiry, now: Int64) throws(TableError) -> UInt64 {
        var purge: [Int32] = []
        if let slot = primary[row.key] {
            guard slab[slot].expiry <= now else { throw .duplicateKey(describe(row.key)) }
            purge.append(slot)
        }
        try checkUnique(row, replacing: nil, now: now, purge: &purge)
        let victims = try chooseVictims(adding: 1, bytes: options.weigh(row), keeping: nil, purge: purge, now: now)
        for slot in purge { drop(slot, .expire) }
        for slot in victims { drop(slot, slab[slot].expiry <= now ? .expire : .evict) }
        let position = emit(.insert, row.key, row)
        let slot = place(row, version: position, expiry: resolve(expiry, now: now, current: nil),
                         flushed: options.tracksFlush ? 0 : position)
        if inTransaction { undo.append(.placed(slot)) }
        return position
    }

    /// Replaces the live record in `slot` by `row` (same key).
    mutating func replace(_ slot: Int32, with row: Row, expiry: Expiry, now: Int64) throws(TableError) -> UInt64 {
        let old = slab[slot]
        let extra = options.weightChange(from: old.row!, to: row)
        // Unique indexes and limits are checked only where a table has them: the common
        // replace (neither) makes no call and builds no arrays for them.
        if !uniqueIndexes.isEmpty || isLimited {
            var purge: [Int32] = []
            try checkUnique(row, replacing: slot, now: now, purge: &purge)
            let victims = try chooseVictims(adding: 0, bytes: extra, keeping: slot, purge: purge, now: now)
            for s in purge { drop(s, .expire) }
            for s in victims { drop(s, slab[s].expiry <= now ? .expire : .evict) }
        }
        let position = emit(.update, row.key, row)
        rewrite(slot, Entry(row: row, version: position, expiry: resolve(expiry, now: now, current: old.expiry),
                            flushed: options.tracksFlush ? old.flushed : position), replacing: old, extraBytes: extra)
        if inTransaction { undo.append(.replaced(slot, old)) }
        return position
    }

    mutating func upsert(_ row: Row, expiry: Expiry, now: Int64) throws(TableError) -> UInt64 {
        // The key map's bucket and the new values' hash words load together, while the old record is read.
        primary.prefetch(row.key)
        for i in hashIndexes { indexes[i].prefetchAhead(column(i, row)) }
        if let slot = liveSlot(row.key, now: now) { return try replace(slot, with: row, expiry: expiry, now: now) }
        return try insert(row, expiry: expiry, now: now)
    }

    func checkedSlot(_ key: Row.Key, ifVersion: UInt64?, now: Int64) throws(TableError) -> Int32 {
        guard let slot = liveSlot(key, now: now) else { throw .missingKey(describe(key)) }
        if let expected = ifVersion, slab[slot].version != expected {
            throw .versionMismatch(expected: expected, actual: slab[slot].version)
        }
        return slot
    }

    mutating func update(_ row: Row, ifVersion: UInt64?, expiry: Expiry, now: Int64) throws(TableError) -> UInt64 {
        let slot = try checkedSlot(row.key, ifVersion: ifVersion, now: now)
        return try replace(slot, with: row, expiry: expiry, now: now)
    }

    /// Applies `body` to the record under `key` and writes the result.
    mutating func modify<R>(
        _ key: Row.Key, ifVersion: UInt64?, now: Int64, _ body: (inout Row) throws(TableError) -> R
    ) throws(TableError) -> (R, UInt64) {
        let slot = try checkedSlot(key, ifVersion: ifVersion, now: now)
        var row = slab[slot].row!
        let result = try body(&row)
        guard row.key == key else { throw .keyChanged(describe(key)) }
        return (result, try replace(slot, with: row, expiry: .default, now: now))
    }

    mutating func delete(_ key: Row.Key, ifVersion: UInt64?, now: Int64) throws(TableError) -> Row {
        let slot = try checkedSlot(key, ifVersion: ifVersion, now: now)
        let row = slab[slot].row!
        drop(slot, .delete)
        return row
    }

    /// Adds `delta` to an integer field; inserts `initial` (with the delta applied) when absent.
    mutating func increment(
        _ key: Row.Key, _ field: WritableKeyPath<Row, Int64>, by delta: Int64, initial: Row?, now: Int64
    ) throws(TableError) -> Int64 {
        if liveSlot(key, now: now) == nil, var row = initial {
            precondition(row.key == key, "increment of \(describe(key)) with an initial record of key \(row.key)")
            row[keyPath: field] &+= delta
            _ = try insert(row, expiry: .default, now: now)
            return row[keyPath: field]
        }
        return try modify(key, ifVersion: nil, now: now) { (row: inout Row) -> Int64 in
            row[keyPath: field] &+= delta
            return row[keyPath: field]
        }.0
    }

    // MARK: write-behind acknowledgement

    /// The downstream store holds `key` at `version`: the record is clean unless written since.
    mutating func markFlushed(_ key: Row.Key, version: UInt64) {
        guard let slot = primary[key] else { return }
        if version > slab[slot].flushed { slab.setFlushed(slot, version) }
    }
}

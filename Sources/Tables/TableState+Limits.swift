// Limits and expiry. Eviction is CLOCK: a point read sets the record's reference bit; the hand
// clears set bits and takes the first record whose bit is clear. A dirty record (not yet
// acknowledged by write-behind) is never taken unless it has expired; if a full two rounds find
// too few victims the write fails with `capacityExceeded` and nothing changes.

extension TableState {
    /// Victims to drop so that `adding` more records and `bytes` more bytes fit, after the
    /// records in `purge` are removed. Mutates only reference bits and the hand.
    mutating func chooseVictims(
        adding rows: Int, bytes extra: Int, keeping kept: Int32?, purge: [Int32], now: Int64
    ) throws(TableError) -> [Int32] {
        guard isLimited else { return [] }
        var purgedBytes = 0
        for slot in purge { purgedBytes += options.weigh(slab[slot].row!) }
        let rowsOver = options.rowLimit.map { count - purge.count + rows - $0 } ?? 0
        let bytesOver = options.byteLimit.map { bytes - purgedBytes + extra - $0 } ?? 0
        if rowsOver <= 0 && bytesOver <= 0 { return [] }

        var victims: [Int32] = []
        var freedRows = 0
        var freedBytes = 0
        var hand = clockHand
        var steps = 0
        let maxSteps = 2 * slab.slotCount
        while (freedRows < rowsOver || freedBytes < bytesOver) && steps < maxSteps {
            if hand >= slab.slotCount { hand = 0 }
            let slot = Int32(hand)
            hand += 1
            steps += 1
            let entry = slab[slot]
            guard let row = entry.row, slot != kept, !purge.contains(slot), !victims.contains(slot) else { continue }
            let expired = entry.expiry <= now
            if entry.isDirty && !expired { continue }
            if referenced[Int(slot)] && !expired {
                referenced[Int(slot)] = false
                continue
            }
            victims.append(slot)
            freedRows += 1
            freedBytes += options.weigh(row)
        }
        guard freedRows >= rowsOver && freedBytes >= bytesOver else {
            throw .capacityExceeded(rows: count, bytes: bytes)
        }
        clockHand = hand
        return victims
    }

    /// Marks a record as recently used for CLOCK.
    @inline(__always)
    mutating func touch(_ slot: Int32) {
        if isLimited { referenced[Int(slot)] = true }
    }

    /// Removes up to `limit` records whose expiry has passed, soonest first; returns how many.
    mutating func sweepExpired(now: Int64, limit: Int) -> Int {
        precondition(!inTransaction, "table \(schema.name): sweep inside a transaction")
        var removed = 0
        while removed < limit, let soonest = expiries.minimum, soonest <= now {
            let (expiry, key) = expiries.pop()!
            guard let slot = primary[key], slab[slot].expiry == expiry else { continue }  // rewritten since
            drop(slot, .expire)
            removed += 1
        }
        if expiries.count > 2 * expiringCount + 1024 {
            let (primary, slab) = (self.primary, self.slab)  // read-only copies: the heap is being mutated
            expiries.rebuild { expiry, key in primary[key].map { slab[$0].expiry == expiry } ?? false }
        }
        return removed
    }

    var dirtyCount: Int {
        var dirty = 0
        slab.forEach { _, _, meta in if meta.version > meta.flushed { dirty += 1 } }
        return dirty
    }
}

// Record storage: fixed-size chunks of entries addressed by slot number, plus a free list.
// Chunks are separate arrays so a snapshot (a copy of the chunk list) shares them, and a later
// write copies only the one chunk it touches — copy-on-write at chunk granularity.

/// One stored record with its bookkeeping. `row == nil` marks a free slot.
public struct Entry<Row: Sendable>: Sendable {
    public var row: Row?
    /// Feed position of the record's last write.
    public var version: UInt64
    /// Instant (ns) after which the record is gone; `Int64.max` for never.
    public var expiry: Int64
    /// Highest version acknowledged downstream; the record is dirty while `version > flushed`.
    var flushed: UInt64

    var isDirty: Bool { version > flushed }
}

struct Slab<Row: Sendable>: Sendable {
    static var chunkShift: Int { 10 }
    static var chunkSize: Int { 1 << chunkShift }

    private(set) var chunks: [ContiguousArray<Entry<Row>>] = []
    private var free: [Int32] = []
    /// Slots ever handed out; slots below it are either live or on the free list.
    private(set) var slotCount = 0

    subscript(slot: Int32) -> Entry<Row> {
        @inline(__always) get {
            let s = Int(slot)
            return chunks[s &>> Self.chunkShift][s & (Self.chunkSize - 1)]
        }
        @inline(__always) _modify {
            let s = Int(slot)
            yield &chunks[s &>> Self.chunkShift][s & (Self.chunkSize - 1)]
        }
    }

    mutating func allocate(_ entry: Entry<Row>) -> Int32 {
        if let slot = free.popLast() {
            self[slot] = entry
            return slot
        }
        precondition(slotCount < Int(Int32.max), "table is full: \(slotCount) slots")
        let slot = slotCount
        slotCount += 1
        if slot & (Self.chunkSize - 1) == 0 {
            var chunk = ContiguousArray<Entry<Row>>()
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[slot &>> Self.chunkShift].append(entry)
        return Int32(slot)
    }

    /// Frees a slot and returns what it held.
    mutating func release(_ slot: Int32) -> Entry<Row> {
        let entry = self[slot]
        precondition(entry.row != nil, "slot \(slot) released twice")
        self[slot].row = nil
        free.append(slot)
        return entry
    }
}

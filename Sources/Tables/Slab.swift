// Record storage: fixed-size chunks addressed by slot number, plus a free list. Each chunk keeps
// records and their bookkeeping in two parallel arrays, so a scan reads only records (and
// expiries only when some record can expire). Chunks are separate arrays so a snapshot (a copy of
// the chunk list) shares them, and a later write copies only the chunk it touches —
// copy-on-write at chunk granularity.

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

struct EntryMeta: Sendable {
    var version: UInt64
    var expiry: Int64
    var flushed: UInt64
}

struct SlabChunk<Row: Sendable>: Sendable {
    var rows: ContiguousArray<Row?> = []
    var metas: ContiguousArray<EntryMeta> = []
}

struct Slab<Row: Sendable>: Sendable {
    static var chunkShift: Int { 10 }
    static var chunkSize: Int { 1 << chunkShift }

    private(set) var chunks: [SlabChunk<Row>] = []
    private var free: [Int32] = []
    /// Slots ever handed out; slots below it are either live or on the free list.
    private(set) var slotCount = 0

    @inline(__always)
    private static func split(_ slot: Int32) -> (Int, Int) {
        let s = Int(slot)
        return (s &>> chunkShift, s & (chunkSize - 1))
    }

    subscript(slot: Int32) -> Entry<Row> {
        @inline(__always) get {
            let (c, o) = Self.split(slot)
            let meta = chunks[c].metas[o]
            return Entry(row: chunks[c].rows[o], version: meta.version, expiry: meta.expiry, flushed: meta.flushed)
        }
        set {
            let (c, o) = Self.split(slot)
            chunks[c].rows[o] = newValue.row
            chunks[c].metas[o] = EntryMeta(version: newValue.version, expiry: newValue.expiry, flushed: newValue.flushed)
        }
    }

    @inline(__always)
    func row(_ slot: Int32) -> Row? {
        let (c, o) = Self.split(slot)
        return chunks[c].rows[o]
    }

    /// Starts loading the record in `slot` into cache without waiting for it: both ends of the
    /// record, since a record of 48 bytes straddles two cache lines half the time.
    @inline(__always)
    func prefetchRow(_ slot: Int32) {
        let (c, o) = Self.split(slot)
        chunks[c].rows.withUnsafeBufferPointer { rows in
            let start = UnsafeRawPointer(rows.baseAddress! + o)
            prefetch(start)
            prefetch(start + (MemoryLayout<Row?>.size - 1))
        }
    }

    /// Starts loading the bookkeeping of `slot` (version, expiry) into cache.
    @inline(__always)
    func prefetchMeta(_ slot: Int32) {
        let (c, o) = Self.split(slot)
        chunks[c].metas.withUnsafeBufferPointer { prefetch(UnsafeRawPointer($0.baseAddress! + o)) }
    }

    @inline(__always)
    func expiry(_ slot: Int32) -> Int64 {
        let (c, o) = Self.split(slot)
        return chunks[c].metas[o].expiry
    }

    mutating func setFlushed(_ slot: Int32, _ version: UInt64) {
        let (c, o) = Self.split(slot)
        chunks[c].metas[o].flushed = version
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
            var chunk = SlabChunk<Row>()
            chunk.rows.reserveCapacity(Self.chunkSize)
            chunk.metas.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[slot &>> Self.chunkShift].rows.append(entry.row)
        chunks[slot &>> Self.chunkShift].metas.append(EntryMeta(version: entry.version, expiry: entry.expiry, flushed: entry.flushed))
        return Int32(slot)
    }

    /// Frees a slot and returns what it held.
    mutating func release(_ slot: Int32) -> Entry<Row> {
        let entry = self[slot]
        precondition(entry.row != nil, "slot \(slot) released twice")
        let (c, o) = Self.split(slot)
        chunks[c].rows[o] = nil
        free.append(slot)
        return entry
    }

    /// Visits every live slot in slot order with its record and meta.
    func forEach(_ body: (Int32, Row, EntryMeta) -> Void) {
        for (number, chunk) in chunks.enumerated() {
            let base = number << Self.chunkShift
            for o in chunk.rows.indices {
                if let row = chunk.rows[o] { body(Int32(base + o), row, chunk.metas[o]) }
            }
        }
    }
}

// Record storage: fixed-size chunks addressed by slot number, plus a free list. Each chunk keeps
// records and their bookkeeping in two parallel blocks, so a scan reads only records (and
// expiries only when some record can expire). Chunks are separate objects so a snapshot (a copy
// of the chunk list) shares them, and a later write copies only the chunk it touches —
// copy-on-write at chunk granularity.
//
// Reads go through `bases`, each chunk's two block addresses, which are plain pointers: reading a
// record costs no reference counting. Through arrays, `chunks[c].rows[o]` retained and released
// the chunk's arrays around every record read or prefetch — four atomic operations a record, about
// a third of a range scan's instructions (cachegrind) and much of its time.

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

/// The storage of one chunk: `count` initialised records and metas, room for `Slab.chunkSize`.
/// Shared read-only between a table and its snapshots; the table writes to a chunk only while it
/// holds the one reference (`Slab.makeUnique`), which is why it may be `@unchecked Sendable`.
final class SlabChunk<Row: Sendable>: @unchecked Sendable {
    let rows: UnsafeMutablePointer<Row?>
    let metas: UnsafeMutablePointer<EntryMeta>
    fileprivate(set) var count = 0

    init() {
        rows = .allocate(capacity: Slab<Row>.chunkSize)
        metas = .allocate(capacity: Slab<Row>.chunkSize)
    }

    init(copying other: SlabChunk) {
        rows = .allocate(capacity: Slab<Row>.chunkSize)
        metas = .allocate(capacity: Slab<Row>.chunkSize)
        rows.initialize(from: other.rows, count: other.count)
        metas.initialize(from: other.metas, count: other.count)
        count = other.count
    }

    deinit {
        rows.deinitialize(count: count)
        rows.deallocate()
        metas.deallocate()  // trivial: nothing to deinitialise
    }

    fileprivate func append(_ row: Row?, _ meta: EntryMeta) {
        precondition(count < Slab<Row>.chunkSize, "slab chunk overfilled")
        (rows + count).initialize(to: row)
        (metas + count).initialize(to: meta)
        count += 1
    }

    /// Visits slots `0..<count` as buffers.
    func withBuffers<R>(_ body: (UnsafeBufferPointer<Row?>, UnsafeBufferPointer<EntryMeta>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: rows, count: count), UnsafeBufferPointer(start: metas, count: count))
    }
}

struct Slab<Row: Sendable>: @unchecked Sendable {  // the pointers in `bases` point into `chunks`
    static var chunkShift: Int { 10 }
    static var chunkSize: Int { 1 << chunkShift }

    private(set) var chunks: ContiguousArray<SlabChunk<Row>> = []
    private var bases: ContiguousArray<(rows: UnsafeMutablePointer<Row?>, metas: UnsafeMutablePointer<EntryMeta>)> = []
    private var free: [Int32] = []
    /// Slots ever handed out; slots below it are either live or on the free list.
    private(set) var slotCount = 0

    @inline(__always)
    private static func split(_ slot: Int32) -> (Int, Int) {
        let s = Int(slot)
        return (s &>> chunkShift, s & (chunkSize - 1))
    }

    /// Precondition-checked: a slot past `slotCount` is a bug.
    @inline(__always)
    private func base(_ slot: Int32) -> (rows: UnsafeMutablePointer<Row?>, metas: UnsafeMutablePointer<EntryMeta>, offset: Int) {
        precondition(slot >= 0 && Int(slot) < slotCount, "slot \(slot) of \(slotCount)")
        let (c, o) = Self.split(slot)
        let b = bases[c]
        return (b.rows, b.metas, o)
    }

    /// `base(slot)` for a write: the chunk is first made this slab's alone.
    @inline(__always)
    private mutating func writableBase(_ slot: Int32) -> (rows: UnsafeMutablePointer<Row?>, metas: UnsafeMutablePointer<EntryMeta>, offset: Int) {
        _ = base(slot)  // checks the slot
        makeUnique(Self.split(slot).0)
        return base(slot)
    }

    /// Gives this slab the only reference to chunk `c`, copying it if a snapshot shares it.
    @inline(__always)
    private mutating func makeUnique(_ c: Int) {
        if !isKnownUniquelyReferenced(&chunks[c]) {
            let copy = SlabChunk(copying: chunks[c])
            chunks[c] = copy
            bases[c] = (copy.rows, copy.metas)
        }
    }

    subscript(slot: Int32) -> Entry<Row> {
        @inline(__always) get {
            let (rows, metas, o) = base(slot)
            let meta = metas[o]
            return Entry(row: rows[o], version: meta.version, expiry: meta.expiry, flushed: meta.flushed)
        }
        set {
            let (rows, metas, o) = writableBase(slot)
            rows[o] = newValue.row
            metas[o] = EntryMeta(version: newValue.version, expiry: newValue.expiry, flushed: newValue.flushed)
        }
    }

    @inline(__always)
    func row(_ slot: Int32) -> Row? {
        let (rows, _, o) = base(slot)
        return rows[o]
    }

    /// Starts loading the record in `slot` into cache without waiting for it: both ends of the
    /// record, since a record of 48 bytes straddles two cache lines half the time.
    @inline(__always)
    func prefetchRow(_ slot: Int32) {
        let (rows, _, o) = base(slot)
        let start = UnsafeRawPointer(rows + o)
        prefetch(start)
        prefetch(start + (MemoryLayout<Row?>.size - 1))
    }

    /// Starts loading the bookkeeping of `slot` (version, expiry) into cache.
    @inline(__always)
    func prefetchMeta(_ slot: Int32) {
        let (_, metas, o) = base(slot)
        prefetch(UnsafeRawPointer(metas + o))
    }

    @inline(__always)
    func expiry(_ slot: Int32) -> Int64 {
        let (_, metas, o) = base(slot)
        return metas[o].expiry
    }

    mutating func setFlushed(_ slot: Int32, _ version: UInt64) {
        let (_, metas, o) = writableBase(slot)
        metas[o].flushed = version
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
            let chunk = SlabChunk<Row>()
            chunks.append(chunk)
            bases.append((chunk.rows, chunk.metas))
        }
        let c = slot &>> Self.chunkShift
        makeUnique(c)
        chunks[c].append(entry.row, EntryMeta(version: entry.version, expiry: entry.expiry, flushed: entry.flushed))
        return Int32(slot)
    }

    /// Frees a slot and returns what it held.
    mutating func release(_ slot: Int32) -> Entry<Row> {
        let entry = self[slot]
        precondition(entry.row != nil, "slot \(slot) released twice")
        let (rows, _, o) = writableBase(slot)
        rows[o] = nil
        free.append(slot)
        return entry
    }

    /// Visits every live slot in slot order with its record and meta.
    func forEach(_ body: (Int32, Row, EntryMeta) -> Void) {
        for (number, chunk) in chunks.enumerated() {
            let base = number << Self.chunkShift
            chunk.withBuffers { rows, metas in
                for o in rows.indices {
                    if let row = rows[o] { body(Int32(base + o), row, metas[o]) }
                }
            }
        }
    }
}

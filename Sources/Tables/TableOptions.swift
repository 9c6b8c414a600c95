// Per-table settings: TTL, limits and whether records must be flushed before they may be evicted.

public struct TableOptions<Row>: Sendable {
    /// TTL given to inserted records that do not name their own.
    public var defaultTTL: Duration?
    /// Most records held; beyond it clean records are evicted (CLOCK).
    public var rowLimit: Int?
    /// Most bytes held, as counted by `weight`.
    public var byteLimit: Int?
    /// Bytes a record counts for against `byteLimit`; nil counts every record as its size plus
    /// 48 bytes of bookkeeping (a constant, which a write then never calls out for).
    public var weight: (@Sendable (Row) -> Int)?
    /// Records start dirty and may not be evicted until `markFlushed` acknowledges their version
    /// (write-behind tables). When false every record is clean at once (pure caches).
    public var tracksFlush: Bool
    /// Changes the feed keeps; a reader further behind must resync.
    public var feedCapacity: Int

    public init(
        defaultTTL: Duration? = nil, rowLimit: Int? = nil, byteLimit: Int? = nil,
        weight: (@Sendable (Row) -> Int)? = nil,
        tracksFlush: Bool = false, feedCapacity: Int = 1 << 16
    ) {
        precondition((rowLimit ?? 1) > 0 && (byteLimit ?? 1) > 0, "table limits must be positive")
        precondition(feedCapacity > 0, "feed capacity must be positive, got \(feedCapacity)")
        self.defaultTTL = defaultTTL
        self.rowLimit = rowLimit
        self.byteLimit = byteLimit
        self.weight = weight
        self.tracksFlush = tracksFlush
        self.feedCapacity = feedCapacity
    }
}

extension TableOptions {
    @inline(__always)
    func weigh(_ row: Row) -> Int {
        if let weight { return weight(row) }
        return MemoryLayout<Row>.stride + 48
    }

    /// What replacing `old` by `new` adds to the table's bytes (0 with the constant weight).
    @inline(__always)
    func weightChange(from old: Row, to new: Row) -> Int {
        weight == nil ? 0 : weigh(new) - weigh(old)
    }
}

/// When a written record expires.
public enum Expiry: Sendable, Equatable {
    /// Inserts get the table's default TTL (if any); updates keep the record's expiry.
    case `default`
    case never
    case after(Duration)
    case at(TableInstant)
}

/// A record with its bookkeeping, as `getVersioned` returns it.
public struct Versioned<Row: Sendable>: Sendable {
    public var row: Row
    public var version: UInt64
    /// nil when the record never expires.
    public var expiry: TableInstant?
    public var isDirty: Bool
}

public struct TableStats: Sendable, Equatable {
    public var count: Int
    public var bytes: Int
    /// Position of the newest change.
    public var position: UInt64
    public var dirty: Int
    public var evictions: Int
    public var expirations: Int
}

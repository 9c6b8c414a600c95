// Per-table settings: TTL, limits and whether records must be flushed before they may be evicted.

package struct TableOptions<Row>: Sendable {
    /// TTL given to inserted records that do not name their own.
    package var defaultTTL: Duration?
    /// Most records held; beyond it clean records are evicted (CLOCK).
    package var rowLimit: Int?
    /// Most bytes held, as counted by `weight`.
    package var byteLimit: Int?
    /// Bytes a record counts for against `byteLimit`.
    package var weight: @Sendable (Row) -> Int
    /// Records start dirty and may not be evicted until `markFlushed` acknowledges their version
    /// (write-behind tables). When false every record is clean at once (pure caches).
    package var tracksFlush: Bool
    /// Changes the feed keeps; a reader further behind must resync.
    package var feedCapacity: Int

    package init(
        defaultTTL: Duration? = nil, rowLimit: Int? = nil, byteLimit: Int? = nil,
        weight: @escaping @Sendable (Row) -> Int = { _ in MemoryLayout<Row>.stride + 48 },
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

/// When a written record expires.
package enum Expiry: Sendable, Equatable {
    /// Inserts get the table's default TTL (if any); updates keep the record's expiry.
    case `default`
    case never
    case after(Duration)
    case at(TableInstant)
}

/// A record with its bookkeeping, as `getVersioned` returns it.
package struct Versioned<Row: Sendable>: Sendable {
    package var row: Row
    package var version: UInt64
    /// nil when the record never expires.
    package var expiry: TableInstant?
    package var isDirty: Bool
}

package struct TableStats: Sendable, Equatable {
    package var count: Int
    package var bytes: Int
    /// Position of the newest change.
    package var position: UInt64
    package var dirty: Int
    package var evictions: Int
    package var expirations: Int
}

// The public table: a `Sendable` class whose state sits behind one lock (`SanitizedMutex`). Every method is
// synchronous and does its work inside one critical section, so a reader never sees a record
// without its index entries, and no call hops to an actor. Do not call a table's methods from
// inside its own transaction body: the lock is not reentrant.
import Locks

public final class Table<Row: TableRecord>: Sendable {
    public let schema: TableSchema<Row>
    let clock: any TableClock
    let state: SanitizedMutex<TableState<Row>>

    public init(_ schema: TableSchema<Row>, options: TableOptions<Row> = TableOptions(), clock: any TableClock) {
        self.schema = schema
        self.clock = clock
        self.state = SanitizedMutex(TableState(schema: schema, options: options))
    }

    init(_ schema: TableSchema<Row>, clock: any TableClock, state: consuming TableState<Row>) {
        self.schema = schema
        self.clock = clock
        self.state = SanitizedMutex(state)
    }

    /// Runs `body` under the lock with the current time (read only when some record can expire).
    @inline(__always)
    func locked<R: Sendable, E: Error>(
        clockNeeded: Bool = false, _ body: (inout TableState<Row>, Int64) throws(E) -> R
    ) throws(E) -> R {
        try state.withLock { (s) throws(E) -> R in
            let now = clockNeeded || s.needsClock || s.options.defaultTTL != nil ? clock.now().nanoseconds : .min
            return try body(&s, now)
        }
    }

    // MARK: reads

    public func get(_ key: Row.Key) -> Row? {
        locked { s, now in
            guard let slot = s.liveSlot(key, now: now) else { return nil }
            s.touch(slot)
            return s.slab.row(slot)
        }
    }

    public func contains(_ key: Row.Key) -> Bool {
        locked { s, now in s.liveSlot(key, now: now) != nil }
    }

    public func getVersioned(_ key: Row.Key) -> Versioned<Row>? {
        locked { s, now in
            guard let slot = s.liveSlot(key, now: now) else { return nil }
            s.touch(slot)
            let entry = s.slab[slot]
            return Versioned(row: entry.row!, version: entry.version,
                             expiry: entry.expiry == .max ? nil : TableInstant(nanoseconds: entry.expiry),
                             isDirty: entry.isDirty)
        }
    }

    public func select(_ query: Query<Row>) throws(TableError) -> [Row] {
        try locked { (s, now) throws(TableError) -> [Row] in
            var rows: [Row] = []
            rows.reserveCapacity(min(query.limit ?? 16, 16))  // index probes return a few records: one allocation
            try s.execute(query, now: now) { rows.append($0); return true }
            return rows
        }
    }

    public func count(_ query: Query<Row> = .all) throws(TableError) -> Int {
        try locked { (s, now) throws(TableError) -> Int in
            if query.filter == nil && s.expiringCount == 0 && query.limit == nil && query.offset == 0 { return s.count }
            var n = 0
            try s.execute(query, now: now) { _ in n += 1; return true }
            return n
        }
    }

    /// Visits matching records in place, without copying them into an array; `body` returns false
    /// to stop. It runs under the table's lock: keep it short and do not touch the table.
    public func forEach(_ query: Query<Row>, _ body: (Row) -> Bool) throws(TableError) {
        try state.withLock { (s) throws(TableError) -> Void in
            let now = s.needsClock ? clock.now().nanoseconds : .min
            try s.execute(query, now: now, body)
        }
    }

    public func explain(_ query: Query<Row>) -> QueryPlan {
        state.withLock { $0.plan(query).plan }
    }

    public var stats: TableStats {
        state.withLock { s in
            TableStats(count: s.count, bytes: s.bytes, position: s.feed.last, dirty: s.dirtyCount,
                       evictions: s.evictions, expirations: s.expirations)
        }
    }

    // MARK: writes by key (each returns the new version, which is its feed position)

    @discardableResult
    public func insert(_ row: Row, expiry: Expiry = .default) throws(TableError) -> UInt64 {
        try locked(clockNeeded: expiry.needsClock) { (s, now) throws(TableError) in try s.insert(row, expiry: expiry, now: now) }
    }

    @discardableResult
    public func upsert(_ row: Row, expiry: Expiry = .default) throws(TableError) -> UInt64 {
        try locked(clockNeeded: expiry.needsClock) { (s, now) throws(TableError) in try s.upsert(row, expiry: expiry, now: now) }
    }

    /// Replaces the record with `row`'s key; with `ifVersion`, only if it is still at that version.
    @discardableResult
    public func update(_ row: Row, ifVersion: UInt64? = nil, expiry: Expiry = .default) throws(TableError) -> UInt64 {
        try locked(clockNeeded: expiry.needsClock) { (s, now) throws(TableError) in
            try s.update(row, ifVersion: ifVersion, expiry: expiry, now: now)
        }
    }

    /// Changes the record under `key` in place; `body` must not change the key.
    @discardableResult
    public func modify(
        _ key: Row.Key, ifVersion: UInt64? = nil, _ body: (inout Row) -> Void
    ) throws(TableError) -> UInt64 {
        try locked { (s, now) throws(TableError) in
            try s.modify(key, ifVersion: ifVersion, now: now) { (row: inout Row) throws(TableError) in body(&row) }.1
        }
    }

    @discardableResult
    public func delete(_ key: Row.Key, ifVersion: UInt64? = nil) throws(TableError) -> Row {
        try locked { (s, now) throws(TableError) in try s.delete(key, ifVersion: ifVersion, now: now) }
    }

    /// Atomically adds `delta` to an integer field and returns the new value; inserts `initial`
    /// (with the delta applied) when the key is absent, else throws `missingKey`.
    @discardableResult
    public func increment(
        _ key: Row.Key, _ field: WritableKeyPath<Row, Int64>, by delta: Int64 = 1, initial: Row? = nil
    ) throws(TableError) -> Int64 {
        try locked { (s, now) throws(TableError) in try s.increment(key, field, by: delta, initial: initial, now: now) }
    }

    // MARK: writes by query (all-or-nothing)

    /// Applies `body` to every matching record; returns how many. Keys must not change.
    @discardableResult
    public func update(where query: Query<Row>, _ body: (inout Row) -> Void) throws(TableError) -> Int {
        try locked { (s, now) throws(TableError) in try s.updateAll(query, now: now, body) }
    }

    @discardableResult
    public func delete(where query: Query<Row>) throws(TableError) -> Int {
        try locked { (s, now) throws(TableError) in try s.deleteAll(query, now: now) }
    }

    // MARK: maintenance

    /// Write-behind acknowledges that `key` is stored downstream at `version`.
    public func markFlushed(_ key: Row.Key, version: UInt64) {
        state.withLock { $0.markFlushed(key, version: version) }
    }

    public func markFlushed(_ acknowledged: [(key: Row.Key, version: UInt64)]) {
        state.withLock { s in for (key, version) in acknowledged { s.markFlushed(key, version: version) } }
    }

    /// Removes up to `limit` expired records (soonest first); call it periodically.
    @discardableResult
    public func sweepExpired(limit: Int = 1024) -> Int {
        state.withLock { s in s.sweepExpired(now: clock.now().nanoseconds, limit: limit) }
    }

    // MARK: change feed

    /// Up to `limit` changes after `position`, or `.resync` when they are no longer held.
    public func changes(after position: UInt64, limit: Int = 1024) -> FeedRead<Row> {
        state.withLock { $0.feed.read(after: position, limit: limit) }
    }

    /// Position of the newest committed change.
    public var position: UInt64 { state.withLock { $0.feed.last } }
}

extension Expiry {
    var needsClock: Bool {
        switch self {
        case .after: true
        case .default, .never, .at: false
        }
    }
}

extension TableState {
    mutating func updateAll(_ query: Query<Row>, now: Int64, _ body: (inout Row) -> Void) throws(TableError) -> Int {
        let keys = try matchingKeys(query, now: now)
        return try atomically { (s) throws(TableError) -> Int in
            for key in keys { _ = try s.modify(key, ifVersion: nil, now: now) { (row: inout Row) throws(TableError) in body(&row) } }
            return keys.count
        }
    }

    mutating func deleteAll(_ query: Query<Row>, now: Int64) throws(TableError) -> Int {
        let keys = try matchingKeys(query, now: now)
        return try atomically { (s) throws(TableError) -> Int in
            for key in keys { _ = try s.delete(key, ifVersion: nil, now: now) }
            return keys.count
        }
    }

    mutating func matchingKeys(_ query: Query<Row>, now: Int64) throws(TableError) -> [Row.Key] {
        var keys: [Row.Key] = []
        try execute(query, now: now) { keys.append($0.key); return true }
        return keys
    }
}

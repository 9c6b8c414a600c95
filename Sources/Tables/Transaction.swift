// All-or-nothing transactions over several tables. The tables' locks are taken in one global
// order (by object identity), so two transactions over overlapping tables cannot deadlock. Each
// write inside validates before it mutates and records its undo; if the body throws, every table
// is rolled back and no feed sees anything. On success each table appends its changes to its feed
// while all locks are still held, so the feeds agree with the commit order.

/// A table that can take part in a transaction.
public protocol TransactionParticipant: AnyObject, Sendable {
    func withTransactionLock<R: Sendable>(
        _ transaction: inout Transaction, _ body: (inout Transaction) throws(TableError) -> R
    ) throws(TableError) -> R
}

/// The locked tables of a running transaction. Valid only inside the transaction body.
public struct Transaction {
    fileprivate var states: [ObjectIdentifier: (state: UnsafeMutableRawPointer, now: Int64)] = [:]

    /// Write access to `table`, which must be one of the transaction's tables.
    public func on<Row>(_ table: Table<Row>) -> TableWriter<Row> {
        guard let locked = states[ObjectIdentifier(table)] else {
            preconditionFailure("table \(table.schema.name) is not part of this transaction")
        }
        return TableWriter(state: locked.state.assumingMemoryBound(to: TableState<Row>.self), now: locked.now)
    }
}

/// Reads and writes on one locked table inside a transaction. Do not keep it past the body.
public struct TableWriter<Row: TableRecord> {
    let state: UnsafeMutablePointer<TableState<Row>>
    let now: Int64

    public func get(_ key: Row.Key) -> Row? {
        state.pointee.liveSlot(key, now: now).flatMap { state.pointee.slab[$0].row }
    }

    public func version(_ key: Row.Key) -> UInt64? {
        state.pointee.liveSlot(key, now: now).map { state.pointee.slab[$0].version }
    }

    public func select(_ query: Query<Row>) throws(TableError) -> [Row] {
        var rows: [Row] = []
        try state.pointee.execute(query, now: now) { rows.append($0); return true }
        return rows
    }

    @discardableResult
    public func insert(_ row: Row, expiry: Expiry = .default) throws(TableError) -> UInt64 {
        try state.pointee.insert(row, expiry: expiry, now: now)
    }

    @discardableResult
    public func upsert(_ row: Row, expiry: Expiry = .default) throws(TableError) -> UInt64 {
        try state.pointee.upsert(row, expiry: expiry, now: now)
    }

    @discardableResult
    public func update(_ row: Row, ifVersion: UInt64? = nil, expiry: Expiry = .default) throws(TableError) -> UInt64 {
        try state.pointee.update(row, ifVersion: ifVersion, expiry: expiry, now: now)
    }

    @discardableResult
    public func modify(_ key: Row.Key, ifVersion: UInt64? = nil, _ body: (inout Row) -> Void) throws(TableError) -> UInt64 {
        try state.pointee.modify(key, ifVersion: ifVersion, now: now) { (row: inout Row) throws(TableError) in body(&row) }.1
    }

    @discardableResult
    public func delete(_ key: Row.Key, ifVersion: UInt64? = nil) throws(TableError) -> Row {
        try state.pointee.delete(key, ifVersion: ifVersion, now: now)
    }

    @discardableResult
    public func increment(
        _ key: Row.Key, _ field: WritableKeyPath<Row, Int64>, by delta: Int64 = 1, initial: Row? = nil
    ) throws(TableError) -> Int64 {
        try state.pointee.increment(key, field, by: delta, initial: initial, now: now)
    }

    @discardableResult
    public func update(where query: Query<Row>, _ body: (inout Row) -> Void) throws(TableError) -> Int {
        try state.pointee.updateAll(query, now: now, body)
    }

    @discardableResult
    public func delete(where query: Query<Row>) throws(TableError) -> Int {
        try state.pointee.deleteAll(query, now: now)
    }
}

extension Table: TransactionParticipant {
    public func withTransactionLock<R: Sendable>(
        _ transaction: inout Transaction, _ body: (inout Transaction) throws(TableError) -> R
    ) throws(TableError) -> R {
        try state.withLock { (s) throws(TableError) -> R in
            let now = clock.now().nanoseconds
            s.begin()
            return try withUnsafeMutablePointer(to: &s) { (pointer) throws(TableError) -> R in
                transaction.states[ObjectIdentifier(self)] = (UnsafeMutableRawPointer(pointer), now)
                defer { transaction.states[ObjectIdentifier(self)] = nil }
                do throws(TableError) {
                    let result = try body(&transaction)
                    pointer.pointee.commit()
                    return result
                } catch {
                    pointer.pointee.rollback()
                    throw error
                }
            }
        }
    }

    /// A transaction over this table alone.
    public func transaction<R: Sendable>(_ body: (TableWriter<Row>) throws(TableError) -> R) throws(TableError) -> R {
        try Transaction.run([self]) { (tx) throws(TableError) -> R in try body(tx.on(self)) }
    }
}

extension Transaction {
    /// Runs `body` with every table in `tables` locked; all its writes happen or none does.
    public static func run<R: Sendable>(
        _ tables: [any TransactionParticipant], _ body: (inout Transaction) throws(TableError) -> R
    ) throws(TableError) -> R {
        var seen = Set<ObjectIdentifier>()
        let ordered = tables.filter { seen.insert(ObjectIdentifier($0)).inserted }
            .sorted { ObjectIdentifier($0) < ObjectIdentifier($1) }
        var transaction = Transaction()
        return try lock(ordered[...], &transaction, body)
    }

    private static func lock<R: Sendable>(
        _ rest: ArraySlice<any TransactionParticipant>, _ transaction: inout Transaction,
        _ body: (inout Transaction) throws(TableError) -> R
    ) throws(TableError) -> R {
        guard let first = rest.first else { return try body(&transaction) }
        return try first.withTransactionLock(&transaction) { (tx) throws(TableError) -> R in
            try lock(rest.dropFirst(), &tx, body)
        }
    }
}

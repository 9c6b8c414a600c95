// A consistent snapshot: the records exactly as of one feed position. Taking one copies the list
// of chunk references under the lock (O(chunks)); writes after it copy only the chunks they touch.
// A replica starts from a snapshot at position P and then applies the feed after P.

public struct TableSnapshot<Row: TableRecord>: Sendable {
    /// Feed position the snapshot reflects: every change up to it, none after.
    public let position: UInt64
    let chunks: ContiguousArray<SlabChunk<Row>>
    /// Records that expired by this instant (ns) are left out.
    let now: Int64

    /// Visits each live record with its version and expiry (`Int64.max` for never).
    public func forEach(_ body: (_ row: Row, _ version: UInt64, _ expiry: Int64) -> Void) {
        for chunk in chunks {
            chunk.withBuffers { rows, metas in
                for o in rows.indices where metas[o].expiry > now {
                    if let row = rows[o] { body(row, metas[o].version, metas[o].expiry) }
                }
            }
        }
    }

    /// Visits each live record not yet acknowledged downstream (`markFlushed`), with its version:
    /// what write-behind must still store when it starts, or when it fell behind the feed.
    public func forEachDirty(_ body: (_ row: Row, _ version: UInt64) -> Void) {
        for chunk in chunks {
            chunk.withBuffers { rows, metas in
                for o in rows.indices where metas[o].expiry > now && metas[o].version > metas[o].flushed {
                    if let row = rows[o] { body(row, metas[o].version) }
                }
            }
        }
    }

    public var rows: [Row] {
        var rows: [Row] = []
        forEach { row, _, _ in rows.append(row) }
        return rows
    }
}

extension Table {
    public func snapshot() -> TableSnapshot<Row> {
        state.withLock { s in
            TableSnapshot(position: s.feed.last, chunks: s.slab.chunks, now: clock.now().nanoseconds)
        }
    }

    /// A table holding `snapshot`'s records, whose feed continues after the snapshot's position.
    /// Records are clean (`clean`) or dirty until flushed. Fails on duplicate keys, unique-index
    /// conflicts or limits; no table is created then.
    public static func restoring(
        _ snapshot: TableSnapshot<Row>, schema: TableSchema<Row>, options: TableOptions<Row> = TableOptions(),
        clock: any TableClock, clean: Bool = true
    ) throws(TableError) -> Table {
        var records: [(Row, UInt64, Int64)] = []
        snapshot.forEach { records.append(($0, $1, $2)) }
        let state = try TableState.loading(records, position: snapshot.position, schema: schema,
                                           options: options, now: clock.now().nanoseconds, clean: clean)
        return Table(schema, clock: clock, state: state)
    }
}

extension TableState {
    static func loading(
        _ records: [(row: Row, version: UInt64, expiry: Int64)], position: UInt64, schema: TableSchema<Row>,
        options: TableOptions<Row>, now: Int64, clean: Bool
    ) throws(TableError) -> TableState {
        var state = TableState(schema: schema, options: options, after: position)
        for (row, version, expiry) in records where expiry > now {
            guard version <= position else { throw .malformed("record version \(version) after position \(position)") }
            guard state.primary[row.key] == nil else { throw .duplicateKey(state.describe(row.key)) }
            var purge: [Int32] = []
            try state.checkUnique(row, replacing: nil, now: now, purge: &purge)
            _ = state.place(row, version: version, expiry: expiry, flushed: clean || !options.tracksFlush ? version : 0)
        }
        if let limit = options.rowLimit, state.count > limit { throw .capacityExceeded(rows: state.count, bytes: state.bytes) }
        if let limit = options.byteLimit, state.bytes > limit { throw .capacityExceeded(rows: state.count, bytes: state.bytes) }
        return state
    }
}

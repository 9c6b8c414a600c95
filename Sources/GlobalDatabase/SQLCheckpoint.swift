// The write-behind checkpoint path of SQLGlobalDatabase: entity snapshots that bypass the log, so
// each row guards itself (it lands only where the fencing epoch matches and the sequence is newer).
//
// Throughput comes from three things, measured in BENCHMARKS.md ("Global tier"):
// * one statement per batch: on PostgreSQL/CockroachDB six array parameters expanded by `unnest`
//   (a fixed, short statement, cheap to parse and bind, whatever the batch size); SQLite has no
//   arrays and keeps a multi-row VALUES list;
// * a row count instead of returned rows (`WITH … RETURNING` counted on the server);
// * batches on several pooled connections at once. Batches are disjoint in entities (the input is
//   coalesced to one checkpoint per entity first), so two connections never touch the same row and
//   one entity's checkpoints never race each other within a call.

extension SQLGlobalDatabase {
    /// Writes each entity's newest checkpoint. Every batch is its own transaction, applied whole or
    /// not at all; a failing call may leave earlier batches written, which is harmless because a
    /// repeat (or any later checkpoint) is guarded by the sequence. Returns the rows that changed.
    public func checkpoint(_ checkpoints: [EntityCheckpoint]) async throws(GlobalDatabaseError) -> Int {
        let rows = coalesce(checkpoints)
        precondition(!tuning.arrayBinds || backend.dialect != .sqlite, "SQLite has no arrays to bind")
        // VALUES binds 6 parameters a row; SQLite allows 32,766 a statement, PostgreSQL 65,535.
        let size = tuning.arrayBinds ? tuning.checkpointBatch : min(tuning.checkpointBatch, 5000)
        let batches = stride(from: 0, to: rows.count, by: size).map { Array(rows[$0..<min($0 + size, rows.count)]) }
        let width = min(tuning.checkpointConnections, batches.count)
        guard width > 1 else {
            var changed = 0
            for batch in batches { changed += try await upsertBatch(batch) }
            return changed
        }
        do {
            return try await withThrowingTaskGroup(of: Int.self) { group in
                var next = batches.makeIterator()
                for _ in 0..<width {
                    if let batch = next.next() { group.addTask { try await upsertBatch(batch) } }
                }
                var changed = 0
                while let n = try await group.next() {
                    changed += n
                    if let batch = next.next() { group.addTask { try await upsertBatch(batch) } }
                }
                return changed
            }
        } catch let error as GlobalDatabaseError {
            throw error
        } catch {
            throw .backend("\(error)")
        }
    }

    /// One batch in one transaction. Idempotent: the sequence guard turns a replay into a no-op.
    func upsertBatch(_ batch: [EntityCheckpoint]) async throws(GlobalDatabaseError) -> Int {
        let arrays = tuning.arrayBinds
        let (sql, binds) = Self.checkpointStatement(batch, arrays: arrays)
        return try await transaction(idempotent: true) { s in
            let rows = try await s.query(sql, binds)
            return arrays ? Int(rows.first?.first?.int ?? 0) : rows.count
        }
    }

    static let checkpointUpsert = """
        ON CONFLICT (scope_id, entity_id) DO UPDATE SET state_blob = excluded.state_blob,
            state_seq = excluded.state_seq, updated_us = excluded.updated_us
        WHERE persistent_entities.authority_epoch = excluded.authority_epoch
            AND persistent_entities.state_seq < excluded.state_seq
        """

    static func checkpointStatement(_ batch: [EntityCheckpoint], arrays: Bool) -> (String, [SQLValue]) {
        let insert = """
            INSERT INTO persistent_entities (scope_id, entity_id, authority_kind, authority_epoch, state_blob,
                state_seq, updated_us, raft_index)
            """
        if arrays {
            // Columns in the order of the binds; the row count comes back as one value.
            let sql = """
                WITH changed AS (
                \(insert)
                SELECT s, e, 'server', ep, b, q, u, 0
                FROM unnest($1::UUID[], $2::UUID[], $3::INT8[], $4::BYTEA[], $5::INT8[], $6::INT8[]) AS c (s, e, ep, b, q, u)
                \(checkpointUpsert)
                RETURNING 1)
                SELECT count(*) FROM changed
                """
            return (sql, [
                .ids(batch.map(\.scopeID)), .ids(batch.map(\.entityID)), .ints(batch.map(\.authorityEpoch)),
                .byteArrays(batch.map(\.state)), .ints(batch.map(\.stateSeq)), .ints(batch.map(\.updatedUs)),
            ])
        }
        var values: [String] = []
        var binds: [SQLValue] = []
        values.reserveCapacity(batch.count)
        binds.reserveCapacity(batch.count * 6)
        for c in batch {
            let n = binds.count
            values.append("($\(n + 1), $\(n + 2), 'server', $\(n + 3), $\(n + 4), $\(n + 5), $\(n + 6), 0)")
            binds += [.id(c.scopeID), .id(c.entityID), .int(c.authorityEpoch), .bytes(c.state), .int(c.stateSeq),
                .int(c.updatedUs)]
        }
        let sql = "\(insert)\nVALUES \(values.joined(separator: ", "))\n\(checkpointUpsert)\nRETURNING entity_id"
        return (sql, binds)
    }
}

/// Knobs of the checkpoint path; the defaults are the best measured on a 2-core machine.
public struct CheckpointTuning: Sendable, Hashable {
    /// Rows per statement (and per transaction); at most 5,000 on SQLite (its parameter limit).
    public var checkpointBatch: Int
    /// Batches in flight at once, each on its own pooled connection (1 on SQLite: one writer).
    public var checkpointConnections: Int
    /// Bind six arrays and `unnest` them (PostgreSQL, CockroachDB) rather than a multi-row VALUES
    /// list with six parameters a row (the only form SQLite has; kept elsewhere for comparison).
    public var arrayBinds: Bool

    public init(checkpointBatch: Int = 1000, checkpointConnections: Int = 1, arrayBinds: Bool = false) {
        precondition(checkpointBatch >= 1 && checkpointConnections >= 1, "checkpoint tuning needs positive values")
        self.checkpointBatch = checkpointBatch
        self.checkpointConnections = checkpointConnections
        self.arrayBinds = arrayBinds
    }

    public static func defaults(for dialect: SQLDialect) -> CheckpointTuning {
        dialect == .sqlite ? CheckpointTuning() : CheckpointTuning(checkpointConnections: 2, arrayBinds: true)
    }
}

// Live entity state into the global database: each stored row becomes an entity checkpoint
// (GlobalDatabase.checkpoint, batched upserts guarded by the authority epoch and the state
// sequence). Deletes are not written here: despawning an entity is a discrete event, committed
// through consensus, which removes its persistent row.
import GlobalDatabase

public struct EntityCheckpointSink<Key: Hashable & Sendable, Row: Sendable>: FlushSink {
    let database: any GlobalDatabase
    let checkpoint: @Sendable (Row) -> EntityCheckpoint

    /// `checkpoint` maps a row to what the database keeps of it. Its `stateSeq` must grow with
    /// every change of the entity (the row's own sequence, not the table's version, which starts
    /// again with the process): the database drops a checkpoint whose sequence is not newer.
    public init(database: any GlobalDatabase, checkpoint: @escaping @Sendable (Row) -> EntityCheckpoint) {
        self.database = database
        self.checkpoint = checkpoint
    }

    public func store(_ items: [FlushItem<Key, Row>]) async throws(FlushFailure) {
        let checkpoints = items.compactMap { $0.row.map(checkpoint) }
        guard !checkpoints.isEmpty else { return }
        do {
            // Rows left unchanged (a stale epoch: authority moved; an old sequence: a replay) are
            // not failures: the database already holds what wins.
            _ = try await database.checkpoint(checkpoints)
        } catch {
            throw Self.judge(error)
        }
    }

    /// Unreachable, conflicts retried out, an unknown commit or a schema not yet migrated may pass
    /// on a retry of the same batch. A constraint or another database error (a data exception)
    /// may be some row's fault: the batch is bisected to find it, and the rest is stored. (A
    /// passing error taken for a refusal costs a few smaller batches; the other way round would
    /// retry a bad batch whole, for ever.)
    static func judge(_ error: GlobalDatabaseError) -> FlushFailure {
        switch error {
        case .unreachable, .retriesExhausted, .ambiguousCommit, .schemaTooOld, .schemaTooNew, .malformedURL, .gap:
            .transient("\(error)")
        case .constraintViolation, .backend:
            .refused("\(error)")
        }
    }
}

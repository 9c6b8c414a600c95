// kura-bench global, continued: the same entities moved end to end — written into a memory table,
// carried to the database by write-behind — beside the direct batched checkpoint measured just
// before on the same database. The ratio is what the table, the feed and the service cost on top
// of the database's own batched path.
import GlobalDatabase
import Tables
import WriteBehind

extension GlobalSuite {
    struct LiveEntity: TableRecord {
        var id: ID
        var seq: Int64
        var key: ID { id }
    }

    static func measureWriteBehind(
        _ report: inout Report, _ db: SQLGlobalDatabase, scope: ID, entities: [ID], state: [UInt8], direct: Double
    ) async throws {
        let table = Table(TableSchema<LiveEntity>(name: "entities"),
                          options: TableOptions(tracksFlush: true, feedCapacity: 1 << 20), clock: ManualClock())
        let sink = EntityCheckpointSink<ID, LiveEntity>(database: db) {
            EntityCheckpoint(scopeID: scope, entityID: $0.id, authorityEpoch: 1, stateSeq: $0.seq, state: state, updatedUs: $0.seq)
        }
        let options = FlushOptions(delay: .milliseconds(20), batchSize: db.tuning.checkpointBatch,
                                   maxInFlight: db.tuning.checkpointConnections)
        let service = WriteBehind(table: table, sink: sink, options: options)
        let running = Task { await service.run() }
        let start = Clock.wall()
        for id in entities { try table.upsert(LiveEntity(id: id, seq: 10)) }
        let synced = await service.sync()
        let rate = Double(entities.count) / (Clock.wall() - start)
        service.shutdown()
        await running.value
        guard synced.complete, synced.refused == 0, table.stats.dirty == 0 else {
            throw BenchError("write-behind left \(table.stats.dirty) rows dirty (\(synced))")
        }
        for id in [entities.first!, entities.last!] {
            guard try await db.entity(scope: scope, id: id)?.stateSeq == 10 else { throw BenchError("write-behind did not store entity \(id)") }
        }
        let stats = service.stats
        report.note("write-behind: \(stats.batches) batches, \(stats.transientFailures) transient failures")
        report.add("write-behind", rate, "rows/s", peer: "direct batched checkpoint", peerValue: direct)
    }
}

// Live entity state from a memory table into the real global database (SQLite, and the
// PostgreSQL server scripts/test starts), through write-behind: what the table holds is what the
// database holds after a sync, and a checkpoint from a revoked authority changes nothing there.
import Foundation
import GlobalDatabase
import GlobalPostgres
import GlobalSQLite
import struct Raft.SplitMix64
import Tables
import Testing
import WriteBehind

struct EntityKey: Hashable, Comparable, Sendable {
    var scope: ID
    var entity: ID
    static func < (a: Self, b: Self) -> Bool { (a.scope, a.entity) < (b.scope, b.entity) }
}

/// An entity's live state, as a game server keeps it in memory.
struct LiveEntity: TableRecord, Equatable {
    var scope: ID
    var entity: ID
    var epoch: Int64
    var seq: Int64
    var state: [UInt8]
    var key: EntityKey { EntityKey(scope: scope, entity: entity) }

    var checkpoint: EntityCheckpoint {
        EntityCheckpoint(scopeID: scope, entityID: entity, authorityEpoch: epoch, stateSeq: seq, state: state, updatedUs: seq)
    }
}

let postgresURL = ProcessInfo.processInfo.environment["KURA_TEST_POSTGRES_URL"]
let skipPostgres = ProcessInfo.processInfo.environment["KURA_SKIP_POSTGRES"] == "1"

func migrated(_ backend: any SQLBackend, faults: FaultInjector? = nil) async throws -> SQLGlobalDatabase {
    _ = try await GlobalSchema.migrate(backend, nowUs: 0)
    return try await SQLGlobalDatabase(backend: backend, faults: faults)
}

func freshSQLite() async throws -> SQLGlobalDatabase {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kura-wb-\(UUID()).sqlite").path
    return try await migrated(SQLiteBackend.open(path: path))
}

/// A new database on the test server; fails (not skips) when scripts/test did not start one.
func freshPostgres(faults: FaultInjector? = nil) async throws -> SQLGlobalDatabase {
    let url = try #require(postgresURL, "KURA_TEST_POSTGRES_URL is not set: run scripts/test, or set KURA_SKIP_POSTGRES=1")
    let admin = try await PostgresBackend.open(url: url, maximumConnections: 1)
    let name = "kura_wb_\(UUID().uuidString.prefix(8).lowercased())"
    try await admin.executeAlone("CREATE DATABASE \(name)")
    await admin.close()
    var parts = URLComponents(string: url)!
    parts.path = "/\(name)"
    return try await migrated(PostgresBackend.open(url: parts.string!, maximumConnections: 4), faults: faults)
}

/// 300 entities moving 20 times each, checkpointed by write-behind; then entity 0's authority is
/// revoked in the database and the old authority's next move must not land.
func checkEntityCheckpoints(_ database: SQLGlobalDatabase) async throws {
    var rng = SplitMix64(seed: 7)
    let scope = ID(using: &rng)
    let ids = (0..<300).map { _ in ID(using: &rng) }
    let entities = Table(TableSchema<LiveEntity>(name: "entities"), options: TableOptions(tracksFlush: true), clock: ManualClock())
    let sink = EntityCheckpointSink<EntityKey, LiveEntity>(database: database) { $0.checkpoint }
    let service = WriteBehind(table: entities, sink: sink, options: FlushOptions(delay: .milliseconds(20), batchSize: 128))
    let running = Task { await service.run() }
    defer { running.cancel() }

    for seq in 1...20 {
        for (n, id) in ids.enumerated() {
            try entities.upsert(LiveEntity(scope: scope, entity: id, epoch: 1, seq: Int64(seq), state: [UInt8(n % 256), UInt8(seq)]))
        }
        if seq % 5 == 0 { try await Task.sleep(for: .milliseconds(30)) }
    }
    var report = await service.sync()
    #expect(report.complete && report.refused == 0)
    for (n, id) in ids.enumerated() {
        let stored = try await database.entity(scope: scope, id: id)
        #expect(stored?.state == [UInt8(n % 256), 20] && stored?.stateSeq == 20 && stored?.authorityEpoch == 1)
    }
    #expect(entities.stats.dirty == 0)
    #expect(service.stats.stored < 300 * 20, "moves within the delay are coalesced")

    // Authority over entity 0 moved to epoch 2 (through consensus, in the product): the old
    // authority's move is fenced off by the database, and write-behind is not stuck on it.
    #expect(try await database.checkpoint([EntityCheckpoint(scopeID: scope, entityID: ids[0], authorityEpoch: 1,
                                                            stateSeq: 21, state: [9], updatedUs: 21)]) == 1)
    try await overrideEpoch(database, scope: scope, entity: ids[0], epoch: 2)
    try entities.upsert(LiveEntity(scope: scope, entity: ids[0], epoch: 1, seq: 22, state: [0xEE]))
    report = await service.sync()
    #expect(report.complete && report.refused == 0)
    let fenced = try await database.entity(scope: scope, id: ids[0])
    #expect(fenced?.state == [9] && fenced?.stateSeq == 21, "a revoked authority's state must not land")
    #expect(entities.stats.dirty == 0)
    service.shutdown(drain: .seconds(5))
    await running.value
}

/// Moves an entity's authority epoch as an applied consensus entry would.
func overrideEpoch(_ database: SQLGlobalDatabase, scope: ID, entity: ID, epoch: Int64) async throws {
    _ = try await database.backend.transaction { session in
        try await session.query(
            "UPDATE persistent_entities SET authority_epoch = $3 WHERE scope_id = $1 AND entity_id = $2",
            [.id(scope), .id(entity), .int(epoch)])
    }
}

@Suite(.timeLimit(.minutes(2))) struct EntityCheckpointTests {
    @Test func sqlite() async throws {
        try await checkEntityCheckpoints(freshSQLite())
    }

    @Test(.enabled(if: !skipPostgres, "KURA_SKIP_POSTGRES=1"))
    func postgres() async throws {
        // Serialisation failures and lost commits underneath: the transaction layer retries them.
        try await checkEntityCheckpoints(freshPostgres(faults: FaultInjector(seed: 3, retryRate: 0.05, lostCommitRate: 0.05)))
    }
}

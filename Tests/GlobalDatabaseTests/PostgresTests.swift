import Foundation
import GlobalDatabase
import GlobalDatabaseTesting
import GlobalPostgres
import Testing

/// The PostgreSQL server started by scripts/test (scripts/pg). Without it these tests fail rather
/// than skip, unless KURA_SKIP_POSTGRES=1 says so explicitly.
let postgresURL = ProcessInfo.processInfo.environment["KURA_TEST_POSTGRES_URL"]
let skipPostgres = ProcessInfo.processInfo.environment["KURA_SKIP_POSTGRES"] == "1"

struct NoPostgres: Error, CustomStringConvertible {
    var description: String {
        "KURA_TEST_POSTGRES_URL is not set: run scripts/test (it starts PostgreSQL), or "
            + "`eval \"$(scripts/pg start)\"` first; set KURA_SKIP_POSTGRES=1 to skip these tests deliberately"
    }
}

/// A URL for a new, empty database on the test server, so every check starts from nothing.
func freshPostgresURL() async throws -> String {
    guard let url = postgresURL else { throw NoPostgres() }
    let admin = try await PostgresBackend.open(url: url, maximumConnections: 1)
    let name = "kura_t_\(UUID().uuidString.prefix(8).lowercased())"
    try await admin.executeAlone("CREATE DATABASE \(name)")
    await admin.close()
    var parts = URLComponents(string: url)!
    parts.path = "/\(name)"
    return parts.string!
}

func freshPostgres(faults: FaultInjector? = nil) async throws -> SQLGlobalDatabase {
    let backend = try await PostgresBackend.open(url: freshPostgresURL(), maximumConnections: 3)
    _ = try await GlobalSchema.migrate(backend, nowUs: 0)
    return try await SQLGlobalDatabase(backend: backend, faults: faults)
}

@Suite(.enabled(if: !skipPostgres, "KURA_SKIP_POSTGRES=1"), .serialized)
struct PostgresGlobalDatabaseTests {
    @Test func serverIsConfigured() {
        #expect(postgresURL != nil, Comment(rawValue: NoPostgres().description))
    }

    @Test func conforms() async {
        #expect(await checkGlobalDatabase { try await freshPostgres() } == [])
    }

    /// Small batches on several connections at once, with serialisation failures and lost commits
    /// injected underneath: still exactly the reference's entities.
    @Test func checkpointsInSmallParallelBatches() async throws {
        var db = try await freshPostgres()
        db.tuning = CheckpointTuning(checkpointBatch: 16, checkpointConnections: 3)
        #expect(try await checkCheckpoints(db) == [])
        let faults = FaultInjector(seed: 11, retryRate: 0.05, lostCommitRate: 0.05)
        var faulty = try await freshPostgres(faults: faults)
        faulty.tuning = db.tuning
        #expect(try await checkCheckpointRaces(faulty) == [])
        #expect(faults.injected.retries > 0 && faults.injected.lostCommits > 0)
        // The multi-row VALUES form (SQLite's, kept here for comparison) keeps the same promises.
        let valuesTuning = CheckpointTuning(checkpointBatch: 16, checkpointConnections: 2, arrayBinds: false)
        var values = try await freshPostgres()
        values.tuning = valuesTuning
        #expect(try await checkCheckpoints(values) == [])
        var racing = try await freshPostgres()
        racing.tuning = valuesTuning
        #expect(try await checkCheckpointRaces(racing) == [])
    }

    @Test func tenThousandEntriesTwiceWithRacingAppliersAndFaults() async throws {
        let faults = FaultInjector(seed: 42, retryRate: 0.02, lostCommitRate: 0.01)
        let db = try await freshPostgres(faults: faults)
        let log = randomLog(count: 10_000, seed: 99)
        #expect(try await checkRacingAppliers(db, reference: MemoryGlobalDatabase(), log: log) == [])
        #expect(faults.injected.retries > 0 && faults.injected.lostCommits > 0)
    }

    @Test func newerSchemaIsRefused() async throws {
        let backend = try await PostgresBackend.open(url: freshPostgresURL(), maximumConnections: 2)
        _ = try await GlobalSchema.migrate(backend, nowUs: 1)
        #expect(try await GlobalSchema.migrate(backend, nowUs: 2).from == GlobalSchema.version)
        try await backend.executeAlone("INSERT INTO kura_schema (version, applied_us) VALUES (\(GlobalSchema.version + 1), 3)")
        let newer = GlobalDatabaseError.schemaTooNew(found: GlobalSchema.version + 1, supported: GlobalSchema.version)
        await #expect(throws: newer) { _ = try await SQLGlobalDatabase(backend: backend) }
        await backend.close()
    }

    @Test func badURLsAndUnreachableServersAreClearErrors() async throws {
        for bad in ["postgres:/nohost", "mysql://u@h/db", "postgres://u@h/db?sslmode=maybe"] {
            await #expect(throws: GlobalDatabaseError.malformedURL(bad)) { _ = try await PostgresBackend.open(url: bad) }
        }
        do {
            _ = try await PostgresBackend.open(url: "postgres://u:p@127.0.0.1:1/db")
            Issue.record("connected to port 1")
        } catch let error as GlobalDatabaseError {
            guard case .unreachable = error else { throw error }
        }
    }
}

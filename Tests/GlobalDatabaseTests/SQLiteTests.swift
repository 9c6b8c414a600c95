import Foundation
import GlobalDatabase
import GlobalDatabaseTesting
import GlobalSQLite
import Testing

/// A fresh, migrated SQLite database in a temporary directory.
func freshSQLite(faults: FaultInjector? = nil) async throws -> SQLGlobalDatabase {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kura-global-\(UUID()).sqlite").path
    let backend = try await SQLiteBackend.open(path: path)
    _ = try await GlobalSchema.migrate(backend, nowUs: 0)
    return try await SQLGlobalDatabase(backend: backend, faults: faults)
}

@Suite struct SQLiteGlobalDatabaseTests {
    @Test func conforms() async {
        #expect(await checkGlobalDatabase { try await freshSQLite() } == [])
    }

    /// Small batches on several connections at once, with serialisation failures and lost commits
    /// injected underneath: still exactly the reference's entities.
    @Test func checkpointsInSmallParallelBatches() async throws {
        var db = try await freshSQLite()
        db.tuning = CheckpointTuning(checkpointBatch: 16, checkpointConnections: 3)
        #expect(try await checkCheckpoints(db) == [])
        let faults = FaultInjector(seed: 11, retryRate: 0.05, lostCommitRate: 0.05)
        var faulty = try await freshSQLite(faults: faults)
        faulty.tuning = db.tuning
        #expect(try await checkCheckpointRaces(faulty) == [])
        #expect(faults.injected.retries > 0 && faults.injected.lostCommits > 0)
    }

    @Test func tenThousandEntriesTwiceWithRacingAppliersAndFaults() async throws {
        let faults = FaultInjector(seed: 42, retryRate: 0.02, lostCommitRate: 0.01)
        let db = try await freshSQLite(faults: faults)
        let log = randomLog(count: 10_000, seed: 99)
        #expect(try await checkRacingAppliers(db, reference: MemoryGlobalDatabase(), log: log) == [])
        #expect(faults.injected.retries > 0 && faults.injected.lostCommits > 0)
    }

    @Test func migrationIsIdempotentAndNewerSchemaIsRefused() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kura-global-\(UUID()).sqlite").path
        let backend = try await SQLiteBackend.open(path: path)
        await #expect(throws: GlobalDatabaseError.schemaTooOld(found: 0, supported: GlobalSchema.version)) {
            _ = try await SQLGlobalDatabase(backend: backend)
        }
        let first = try await GlobalSchema.migrate(backend, nowUs: 1)
        #expect(first.from == 0 && first.to == GlobalSchema.version)
        let second = try await GlobalSchema.migrate(backend, nowUs: 2)
        #expect(second.from == GlobalSchema.version && second.to == GlobalSchema.version)
        try await backend.transaction { s in
            try await s.execute("INSERT INTO kura_schema (version, applied_us) VALUES ($1, 3)", [.int(Int64(GlobalSchema.version + 1))])
        }
        let newer = GlobalDatabaseError.schemaTooNew(found: GlobalSchema.version + 1, supported: GlobalSchema.version)
        await #expect(throws: newer) { _ = try await GlobalSchema.migrate(backend, nowUs: 4) }
        await #expect(throws: newer) { _ = try await SQLGlobalDatabase(backend: backend) }
        #expect(newer.description.contains("newer than this binary"))
    }

    @Test func ambiguousCommitIsRetriedOnlyForIdempotentWork() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kura-global-\(UUID()).sqlite").path
        let backend = try await SQLiteBackend.open(path: path)
        _ = try await GlobalSchema.migrate(backend, nowUs: 0)
        let fast = RetryPolicy(maxAttempts: 4, jitter: { 0 })
        let lossy = try await SQLGlobalDatabase(
            backend: backend, policy: fast, faults: FaultInjector(seed: 1, retryRate: 0, lostCommitRate: 1))
        let clean = try await SQLGlobalDatabase(backend: backend)
        // Not idempotent: reported at once, not run again.
        let runs = Counter()
        await #expect(throws: GlobalDatabaseError.ambiguousCommit("connection lost during COMMIT (injected)")) {
            try await lossy.transaction(idempotent: false) { _ in await runs.bump() }
        }
        #expect(await runs.value == 1)
        // Idempotent (apply): re-run after every lost commit, which finds the entries applied.
        await #expect(throws: GlobalDatabaseError.retriesExhausted(attempts: 4, last: "ambiguous commit (injected)")) {
            _ = try await lossy.apply(randomLog(count: 3, seed: 1), group: "a")
        }
        #expect(try await clean.applyState(group: "a").appliedIndex == 3)
        let replay = try await clean.apply(randomLog(count: 3, seed: 1), group: "a")
        #expect(replay.alreadyApplied == 3 && replay.applied == 0)
    }

    @Test func unreachableFileIsAClearError() async {
        await #expect(throws: GlobalDatabaseError.self) {
            _ = try await SQLiteBackend.open(path: "/nonexistent-dir/x/y.sqlite")
        }
    }
}

actor Counter {
    var value = 0
    func bump() { value += 1 }
}

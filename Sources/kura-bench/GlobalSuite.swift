// kura-bench global --database URL: entity checkpoints, batched (coalesced; 1000 rows a
// statement and a transaction: `unnest` of arrays on PostgreSQL, multi-row VALUES on SQLite; two
// batches in flight on PostgreSQL) beside the naive one-row-per-transaction upsert, on the same
// database in the same run. Both paths go through the same retry wrapper.
//
// Options: --database URL (postgres://… or sqlite://PATH; required), --rows N (batched, default
// 100000), --single N (one-row transactions, default 5000: the slow path is timed on a sample),
// --batch N, --connections N and --values (multi-row VALUES instead of arrays) override the
// checkpoint tuning, to compare settings.
import Dispatch
import Foundation
import GlobalDatabase
import GlobalPostgres
import GlobalSQLite

enum GlobalSuite {
    struct Options: Sendable {
        var database = ""
        var rows = 100_000
        var single = 5_000
        var batch: Int?
        var connections: Int?
        var values = false

        init(_ arguments: [String]) throws {
            var rest = arguments[...]
            while let flag = rest.popFirst() {
                if flag == "--values" {
                    values = true
                    continue
                }
                guard let value = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
                switch flag {
                case "--database": database = value
                case "--rows": rows = try ChunksSuite.Options.int(flag, value)
                case "--single": single = try ChunksSuite.Options.int(flag, value)
                case "--batch": batch = try ChunksSuite.Options.int(flag, value)
                case "--connections": connections = try ChunksSuite.Options.int(flag, value)
                default: throw BenchError("unknown option \(flag)")
                }
            }
            guard batch ?? 1 >= 1, connections ?? 1 >= 1 else { throw BenchError("--batch and --connections take a number ≥ 1") }
            guard !database.isEmpty else { throw BenchError("--database URL is required (postgres://… or sqlite://PATH)") }
        }
    }

    static func run(_ report: inout Report, _ arguments: [String]) throws {
        let options = try Options(arguments)
        let copy = report
        nonisolated(unsafe) var failure: (any Error)?
        let done = DispatchSemaphore(value: 0)
        Task {
            var report = copy
            do { try await measure(&report, options) } catch { failure = error }
            done.signal()
        }
        done.wait()
        if let failure { throw failure }
    }

    static func measure(_ report: inout Report, _ options: Options) async throws {
        let (backend, close) = try await open(options.database)
        defer { Task { await close() } }
        _ = try await GlobalSchema.migrate(backend, nowUs: 0)
        var db = try await SQLGlobalDatabase(backend: backend)
        if let batch = options.batch { db.tuning.checkpointBatch = batch }
        if let connections = options.connections { db.tuning.checkpointConnections = connections }
        if options.values { db.tuning.arrayBinds = false }
        let peer = backend.dialect == .sqlite ? "sqlite" : "postgres"
        report.note("database \(peer), \(options.rows) batched rows, \(options.single) single-row transactions, "
            + "batch \(db.tuning.checkpointBatch) rows \(db.tuning.arrayBinds ? "as arrays" : "as VALUES") on \(db.tuning.checkpointConnections) connections, cpus \(ProcessInfo.processInfo.activeProcessorCount), load \(Tools.loadAverage())")

        var rng = SystemRandomNumberGenerator()
        let scope = ID(using: &rng)
        let entities = (0..<options.rows).map { _ in ID(using: &rng) }
        let state = [UInt8](repeating: 7, count: 64)
        func checkpoints(_ ids: ArraySlice<ID>, seq: Int64) -> [EntityCheckpoint] {
            ids.map { EntityCheckpoint(scopeID: scope, entityID: $0, authorityEpoch: 1, stateSeq: seq, state: state, updatedUs: seq) }
        }
        // New entities (inserts), then a second snapshot of each (updates): both are checkpoints.
        var start = Clock.wall()
        var changed = try await db.checkpoint(checkpoints(entities[...], seq: 1))
        let insertRate = Double(changed) / (Clock.wall() - start)
        start = Clock.wall()
        let cpu = Clock.processCPU()
        changed = try await db.checkpoint(checkpoints(entities[...], seq: 2))
        let updateRate = Double(changed) / (Clock.wall() - start)
        // The client's share; the rest of a row's cost is the server's (and, on SQLite, in-process).
        report.note("batched upsert of existing rows: client CPU \(Report.format((Clock.processCPU() - cpu) / Double(options.rows) * 1e6)) µs a row")
        guard changed == options.rows else { throw BenchError("batched upsert changed \(changed) of \(options.rows) rows") }

        start = Clock.wall()
        var singles = 0
        for id in entities.prefix(options.single) {
            singles += try await db.checkpoint(checkpoints([id][...], seq: 3))
        }
        let singleRate = Double(singles) / (Clock.wall() - start)
        guard singles == min(options.single, options.rows) else { throw BenchError("single-row upserts changed \(singles)") }

        report.add("batched-upsert", updateRate, "rows/s", peer: "one-row-per-transaction", peerValue: singleRate)
        report.add("batched-upsert-new", insertRate, "rows/s", peer: "one-row-per-transaction", peerValue: singleRate)
        try await measureWriteBehind(&report, db, scope: scope, entities: entities, state: state, direct: updateRate)
    }

    static func open(_ url: String) async throws -> (any SQLBackend, @Sendable () async -> Void) {
        if url.hasPrefix("sqlite://") {
            let backend = try await SQLiteBackend.open(path: String(url.dropFirst("sqlite://".count)))
            return (backend, { await backend.close() })
        }
        let backend = try await PostgresBackend.open(url: url)
        return (backend, { await backend.close() })
    }
}

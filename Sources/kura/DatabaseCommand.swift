// `kura db migrate --database URL`: brings a global-tier database (PostgreSQL, CockroachDB or an
// embedded SQLite file) to this binary's schema version. Idempotent; refuses a newer database.
import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import GlobalDatabase
import GlobalPostgres
import GlobalSQLite

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Manage the global tier's SQL database.", subcommands: [MigrateCommand.self])
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the global tier's schema (safe to re-run).",
        discussion: """
            URL forms: postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=disable|prefer|require], \
            cockroachdb://… (CockroachDB dialect), sqlite://PATH (a file, created if missing).
            """)

    @Option(name: .long, help: "The database URL.")
    var database: String

    func run() throws {
        let url = database
        let (from, to) = try blocking { () async throws(GlobalDatabaseError) -> (Int, Int) in
            let (backend, close) = try await openGlobalBackend(url)
            do throws(GlobalDatabaseError) {
                let result = try await GlobalSchema.migrate(backend, nowUs: wallMicroseconds())
                await close()
                return result
            } catch {
                await close()
                throw error
            }
        }
        print(from == to ? "schema already at version \(to)" : "schema migrated from version \(from) to \(to)")
    }
}

/// Opens the backend a URL names; the closure releases it.
func openGlobalBackend(_ url: String) async throws(GlobalDatabaseError)
    -> (any SQLBackend, @Sendable () async -> Void)
{
    if url.hasPrefix("sqlite://") {
        let path = String(url.dropFirst("sqlite://".count))
        guard !path.isEmpty else { throw .malformedURL(url) }
        let backend = try await SQLiteBackend.open(path: path)
        return (backend, { await backend.close() })
    }
    let backend = try await PostgresBackend.open(url: url)
    return (backend, { await backend.close() })
}

/// Wall-clock time for the migration's record (not on any replicated path).
func wallMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}

/// Runs async work from a synchronous command (the root command is synchronous), rethrowing its
/// error with its type: `GlobalDatabaseError` for `db`, `any Error` for the replica clients.
func blocking<T: Sendable, E: Error>(_ work: @escaping @Sendable () async throws(E) -> T) throws(E) -> T {
    nonisolated(unsafe) var result: Result<T, E>?
    let done = DispatchSemaphore(value: 0)
    Task {
        do throws(E) { result = .success(try await work()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result!.get()
}

// PostgreSQL and CockroachDB through postgres-nio's pooled client, following the client rules of
// global-tier.md §1.11: every transaction SERIALIZABLE, every result drained before the next
// statement, errors matched by SQLSTATE, COMMIT failures told apart so that only idempotent work
// retries an ambiguous commit (the retry wrapper itself is shared, GlobalDatabase/Retry.swift).
import Foundation
import GlobalDatabase
import PostgresNIO

public final class PostgresBackend: SQLBackend {
    public let dialect: SQLDialect
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger = Logger(label: "kura.global.postgres")

    /// Connects to `url` (see `PostgresURL`), checking reachability with one direct connection
    /// first so an unreachable server is a prompt, clear error rather than a pool waiting forever.
    public static func open(url: String, maximumConnections: Int = 8) async throws(GlobalDatabaseError) -> PostgresBackend {
        let parsed = try PostgresURL(url)
        let logger = Logger(label: "kura.global.postgres")
        do {
            let probe = try await withTimeout(.seconds(10)) {
                try await PostgresConnection.connect(configuration: parsed.connection, id: 0, logger: logger)
            }
            try await probe.close()
        } catch {
            throw .unreachable("\(parsed.redacted): \(describe(error))")
        }
        var config = parsed.client
        config.options.maximumConnections = maximumConnections
        config.options.minimumConnections = 0
        // The pool's background chatter (including a harmless warning when the first lease races
        // `run()` starting) stays quiet below errors.
        var background = logger
        background.logLevel = .error
        return PostgresBackend(
            client: PostgresClient(configuration: config, backgroundLogger: background), dialect: parsed.dialect)
    }

    init(client: PostgresClient, dialect: SQLDialect) {
        self.client = client
        self.dialect = dialect
        runner = Task { await client.run() }
    }

    /// Closes the pool; in-flight transactions fail.
    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLSession) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            try await session.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            let value: T
            do {
                value = try await body(session)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger).collect()
                throw error
            }
            do {
                try await session.execute("COMMIT")
            } catch {
                throw CommitFailed(underlying: error)
            }
            return value
        }
    }

    public func executeAlone(_ sql: String) async throws {
        try await client.withConnection { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
        }
    }

    public func classify(_ error: any Error) -> SQLFailure {
        if let commit = error as? CommitFailed {
            // A server error at COMMIT (40001 from SSI) means it did not commit; a lost connection
            // leaves the outcome unknown.
            if let psql = commit.underlying as? PSQLError, psql.code == .server {
                return classify(psql)
            }
            return .ambiguous("connection lost during COMMIT: \(Self.describe(commit.underlying))")
        }
        guard let psql = error as? PSQLError else { return .other(Self.describe(error)) }
        guard psql.code == .server, let state = psql.serverInfo?[.sqlState] else {
            switch psql.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed:
                return .unreachable(Self.describe(error))
            default: return .other(Self.describe(error))
            }
        }
        switch state {
        case "40001", "40P01": return .retry(Self.describe(error))
        case "40003": return .ambiguous(Self.describe(error))
        case _ where state.hasPrefix("23"): return .constraint(Self.describe(error))
        case _ where state.hasPrefix("08"): return .unreachable(Self.describe(error))
        default: return .other(Self.describe(error))
        }
    }

    /// The server's SQLSTATE and message rather than PSQLError's deliberately terse description.
    static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo {
            let detail = info[.detail].map { " (\($0))" } ?? ""
            return "\(info[.sqlState] ?? "?"): \(info[.message] ?? "")\(detail)"
        }
        return "\(psql.code)\(psql.underlying.map { ": \($0)" } ?? "")"
    }
}

struct CommitFailed: Error {
    var underlying: any Error
}

struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            switch value {
            case .null: bindings.appendNull()
            case .int(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .bytes(let v): bindings.append(ByteBuffer(bytes: v))
            case .id(let v): bindings.append(UUID(v))
            case .ids(let v): bindings.append(v.map(UUID.init))
            case .ints(let v): bindings.append(v)
            case .byteArrays(let v): bindings.append(v.map { ByteBuffer(bytes: $0) })
            }
        }
        // Read every row before returning: a statement's error arrives with its rows.
        var rows: [SQLRow] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger) {
            rows.append(try row.map(Self.decode))
        }
        return rows
    }

    func execute(_ sql: String) async throws { _ = try await query(sql, []) }

    /// Raises a real 40001 on the server, so the injected failure travels the driver's error path.
    func injectSerializationFailure() async throws {
        try await execute(
            "DO $$BEGIN RAISE EXCEPTION 'restart transaction: RETRY_SERIALIZABLE (injected by test)' USING ERRCODE = '40001'; END$$"
        )
    }

    static func decode(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .int(try cell.decode(Int64.self))
        case .uuid: return .id(ID(try cell.decode(UUID.self)))
        case .bytea: return .bytes(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        default: return .text(try cell.decode(String.self))
        }
    }
}

extension UUID {
    init(_ id: ID) {
        let raw = (id.high.bigEndian, id.low.bigEndian)
        self = withUnsafeBytes(of: raw) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }
}

extension ID {
    init(_ uuid: UUID) {
        self = withUnsafeBytes(of: uuid.uuid) {
            ID(high: UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)),
                low: UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }
}

/// Runs `work`, failing with a timeout if it takes longer than `limit`.
func withTimeout<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw GlobalDatabaseError.unreachable("no answer within \(limit)")
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

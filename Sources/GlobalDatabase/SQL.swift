// The seam between the domain's SQL (written once, in the portable subset of global-tier.md §2.3)
// and a driver. A backend runs statements and transactions and classifies its errors; the retry
// wrapper, the schema and the apply path live above it, identical for SQLite and PostgreSQL.

public enum SQLValue: Hashable, Sendable {
    case null
    case int(Int64)
    case text(String)
    case bytes([UInt8])
    case id(ID)
    /// Arrays, one value per row, for statements that expand them with `unnest` (PostgreSQL and
    /// CockroachDB only: SQLite has no array type, so its statements never bind these).
    case ids([ID])
    case ints([Int64])
    case byteArrays([[UInt8]])

    public init(_ id: ID?) { self = id.map(SQLValue.id) ?? .null }
    public init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
    public init(_ int: Int64?) { self = int.map(SQLValue.int) ?? .null }
    public init(_ bytes: [UInt8]?) { self = bytes.map(SQLValue.bytes) ?? .null }

    public var int: Int64? { if case .int(let v) = self { v } else { nil } }
    public var text: String? { if case .text(let v) = self { v } else { nil } }
    public var bytes: [UInt8]? {
        switch self {
        case .bytes(let v): v
        case .id(let v): v.bytes
        default: nil
        }
    }
    public var id: ID? {
        switch self {
        case .id(let v): v
        case .bytes(let v) where v.count == 16: ID(bytes: v)
        case .text(let v): ID(v)
        default: nil
        }
    }
}

public typealias SQLRow = [SQLValue]

public enum SQLDialect: String, Sendable {
    case sqlite, postgres, cockroach

    /// Tokens of the portable DDL: types, and `{{HASH}}` after the column list of an index on a
    /// sequential column, hash-sharded on CockroachDB so inserts do not pile onto one range.
    func ddl(_ text: String) -> String {
        let sqlite = self == .sqlite
        return text.replacingAll("{{UUID}}", with: sqlite ? "BLOB" : "UUID")
            .replacingAll("{{BYTES}}", with: sqlite ? "BLOB" : "BYTEA")
            .replacingAll("{{HASH}}", with: self == .cockroach ? " USING HASH" : "")
    }

    /// Row locks for a read-then-write; SQLite serialises writers with BEGIN IMMEDIATE instead.
    var forUpdate: String { self == .sqlite ? "" : " FOR UPDATE" }
}

/// One open transaction. Every call returns all rows: a result is read completely before the next
/// statement (postgres-nio delivers a statement's error with its rows, §1.11 rule 10).
public protocol SQLSession: Sendable {
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    /// Fails the transaction with the backend's real serialisation error (or a faithful stand-in);
    /// used only by fault injection in tests.
    func injectSerializationFailure() async throws
}

extension SQLSession {
    public func execute(_ sql: String, _ binds: [SQLValue] = []) async throws {
        _ = try await query(sql, binds)
    }
}

/// How a driver error should be treated by the retry wrapper.
public enum SQLFailure: Sendable {
    /// 40001, 40P01, SQLITE_BUSY: roll back and run the whole body again.
    case retry(String)
    /// The commit may or may not have happened (40003, connection lost during COMMIT).
    case ambiguous(String)
    case constraint(String)
    case unreachable(String)
    case other(String)
}

public protocol SQLBackend: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` between BEGIN (SERIALIZABLE, or IMMEDIATE on SQLite) and COMMIT; rolls back if it
    /// throws. No retries here. `commitFailed` tells errors raised by COMMIT apart from the body's.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLSession) async throws -> T) async throws -> T
    /// Runs one statement outside an explicit transaction (DDL: CockroachDB wants it alone).
    func executeAlone(_ sql: String) async throws
    func classify(_ error: any Error) -> SQLFailure
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

// The embedded default: one SQLite file in WAL mode through sqlite-nio. SQLite has a single
// writer, so transactions are serialised here (an async lock around BEGIN IMMEDIATE … COMMIT);
// SQLITE_BUSY from another process is treated like 40001 by the retry wrapper.
import GlobalDatabase
import SQLiteNIO

public final class SQLiteBackend: SQLBackend {
    public let dialect = SQLDialect.sqlite
    let connection: SQLiteConnection
    let lock = AsyncLock()

    init(connection: SQLiteConnection) { self.connection = connection }

    // sqlite-nio insists that a connection is closed before it is freed; a backend dropped without
    // `close()` hands its connection to a task that closes it.
    deinit {
        let connection = connection
        if !connection.isClosed { Task { try? await connection.close() } }
    }

    /// Opens (creating if needed) the database file at `path`.
    public static func open(path: String) async throws(GlobalDatabaseError) -> SQLiteBackend {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path))
        } catch {
            throw .unreachable("cannot open SQLite database \(path): \(error)")
        }
        let backend = SQLiteBackend(connection: connection)
        do {
            for pragma in [
                "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON",
                "PRAGMA busy_timeout = 5000",
            ] {
                _ = try await connection.query(pragma, [])
            }
        } catch {
            try? await connection.close()
            throw .unreachable("cannot use SQLite database \(path): \(error)")
        }
        return backend
    }

    public func close() async {
        try? await connection.close()
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLSession) async throws -> T) async throws -> T {
        await lock.acquire()
        do {
            _ = try await connection.query("BEGIN IMMEDIATE", [])
            do {
                let value = try await body(SQLiteSession(connection: connection))
                _ = try await connection.query("COMMIT", [])
                await lock.release()
                return value
            } catch {
                _ = try? await connection.query("ROLLBACK", [])
                throw error
            }
        } catch {
            await lock.release()
            throw error
        }
    }

    public func executeAlone(_ sql: String) async throws {
        await lock.acquire()
        do {
            _ = try await connection.query(sql, [])
            await lock.release()
        } catch {
            await lock.release()
            throw error
        }
    }

    public func classify(_ error: any Error) -> SQLFailure {
        if error is InjectedBusy { return .retry("SQLITE_BUSY (injected)") }
        guard let e = error as? SQLiteError else { return .other("\(error)") }
        switch e.reason {
        case .busy, .locked, .busyTimeout, .busyInRecovery, .busyInSnapshot: return .retry(e.message)
        case .constraint, .constraintCheckFailed, .constraintForeignKeyFailed, .constraintNotNullFailed,
            .constraintPrimaryKeyFailed, .constraintUniqueFailed, .constraintUniqueRowIDFailed:
            return .constraint(e.message)
        case .cantOpen, .notADatabase: return .unreachable(e.message)
        default: return .other("\(e)")
        }
    }
}

/// Stands in for SQLITE_BUSY in fault injection: SQLiteError has no public initialiser, and a real
/// busy error needs a second writer process.
struct InjectedBusy: Error, CustomStringConvertible {
    var description: String { "SQLITE_BUSY (injected)" }
}

struct SQLiteSession: SQLSession {
    let connection: SQLiteConnection

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        let rows = try await connection.query(Self.positional(sql), binds.map(Self.encode))
        return rows.map { $0.columns.map { Self.decode($0.data) } }
    }

    func injectSerializationFailure() async throws { throw InjectedBusy() }

    /// SQLite binds `$n` by order of first appearance, not by number; `?n` keeps the numbering.
    static func positional(_ sql: String) -> String {
        // Bytes, not Characters: a 1,000-row checkpoint statement is ~60 kB and grapheme walking
        // cost a fifth of the benchmark. `$` and digits are ASCII, so UTF-8 stays intact.
        var out = Array(sql.utf8)
        for i in out.indices.dropLast() where out[i] == UInt8(ascii: "$") && (0x30...0x39).contains(out[i + 1]) {
            out[i] = UInt8(ascii: "?")
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(_ value: SQLValue) -> SQLiteData {
        switch value {
        case .null: .null
        case .int(let v): .integer(SQLiteInt64(v))
        case .text(let v): .text(v)
        case .bytes(let v): .blob(ByteBuffer(bytes: v))
        case .id(let v): .blob(ByteBuffer(bytes: v.bytes))
        case .ids, .ints, .byteArrays: preconditionFailure("SQLite has no arrays; this statement is PostgreSQL-only")
        }
    }

    static func decode(_ data: SQLiteData) -> SQLValue {
        switch data {
        case .null: .null
        case .integer(let v): .int(Int64(v))
        case .float(let v): .int(Int64(v))
        case .text(let v): .text(v)
        case .blob(let v): .bytes(Array(v.readableBytesView))
        }
    }
}

/// A FIFO async mutex: SQLite transactions on one connection must not interleave.
actor AsyncLock {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

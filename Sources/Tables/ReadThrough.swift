// Read-through with single flight: on a miss the first caller runs the loader; callers for the
// same key that arrive meanwhile wait for its result instead of running their own (the
// stampede protection Cachex's Courier gives). The table stays synchronous; only this edge is
// async. No task is spawned: the leader's own task runs the loader.
import Locks

public final class ReadThrough<Row: TableRecord>: Sendable {
    enum Outcome: Sendable {
        case loaded(Row?)
        /// The flight ended before this waiter joined it: look again.
        case retry
    }

    public let table: Table<Row>
    private let flights = SanitizedMutex<[Row.Key: [CheckedContinuation<Outcome, any Error>]]>([:])

    public init(_ table: Table<Row>) { self.table = table }

    /// The record under `key`, loading it with `loader` on a miss (one loader per key at a
    /// time) and storing what it returns with `expiry`. A nil from the loader is returned and not
    /// stored. A loader error, or a table error while storing, reaches every waiter of that flight.
    public func fetch(
        _ key: Row.Key, expiry: Expiry = .default, loader: @Sendable (Row.Key) async throws -> Row?
    ) async throws -> Row? {
        while true {
            if let row = table.get(key) { return row }
            let leads = flights.withLock { flights in
                guard flights[key] == nil else { return false }
                flights[key] = []
                return true
            }
            if leads { return try await lead(key, expiry: expiry, loader: loader) }
            let outcome = try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Outcome, any Error>) in
                let joined = flights.withLock { flights in
                    guard flights[key] != nil else { return false }
                    flights[key]!.append(waiter)
                    return true
                }
                if !joined { waiter.resume(returning: .retry) }
            }
            if case .loaded(let row) = outcome { return row }
        }
    }

    /// Keys with a loader running now.
    public var loading: Int { flights.withLock { $0.count } }

    private func lead(
        _ key: Row.Key, expiry: Expiry, loader: @Sendable (Row.Key) async throws -> Row?
    ) async throws -> Row? {
        let result: Result<Row?, any Error>
        do {
            let row = try await loader(key)
            if let row {
                precondition(row.key == key, "loader for \(key) returned a record with key \(row.key)")
                try table.upsert(row, expiry: expiry)
            }
            result = .success(row)
        } catch {
            result = .failure(error)
        }
        let waiters = flights.withLock { $0.removeValue(forKey: key) ?? [] }
        for waiter in waiters { waiter.resume(with: result.map { .loaded($0) }) }
        return try result.get()
    }
}

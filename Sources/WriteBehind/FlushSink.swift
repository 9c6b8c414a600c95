// Where write-behind stores records: a small protocol, the in-memory reference that states its
// contract, and (EntityCheckpointSink) the global database.
import Locks

public protocol FlushSink<Key, Row>: Sendable {
    associatedtype Key: Hashable & Sendable
    associatedtype Row: Sendable

    /// Stores every item (a nil row: the key was deleted) or throws; items have distinct keys.
    /// Must be idempotent: after a timeout the same batch may be stored again, and a store that
    /// keeps a version per key must not let an older version replace a newer one.
    func store(_ items: [FlushItem<Key, Row>]) async throws(FlushFailure)
}

/// The reference sink: a dictionary of the newest version of each key. It refuses the rows
/// `refuses` names, fails as scripted (`failNext`), and counts any write that would have put an
/// older version over a newer one, which write-behind must never send.
public final class MemoryFlushSink<Key: Hashable & Sendable, Row: Sendable>: FlushSink {
    struct State {
        var rows: [Key: (version: UInt64, row: Row?)] = [:]
        var scripted: [FlushFailure] = []
        var batches = 0
        var regressions = 0
    }

    let state = SanitizedMutex(State())
    let refuses: @Sendable (Row) -> Bool

    public init(refuses: @escaping @Sendable (Row) -> Bool = { _ in false }) {
        self.refuses = refuses
    }

    public func store(_ items: [FlushItem<Key, Row>]) async throws(FlushFailure) {
        try state.withLock { (s) throws(FlushFailure) in
            if !s.scripted.isEmpty { throw s.scripted.removeFirst() }
            if let bad = items.first(where: { $0.row.map(refuses) ?? false }) {
                throw .refused("row of key \(bad.key) refused")
            }
            for item in items {
                if let old = s.rows[item.key], old.version > item.version {
                    s.regressions += 1
                    continue
                }
                s.rows[item.key] = (item.version, item.row)
            }
            s.batches += 1
        }
    }

    /// The next calls fail with these, in order.
    public func failNext(_ failures: [FlushFailure]) {
        state.withLock { $0.scripted += failures }
    }

    /// Stored rows by key; deleted keys are absent.
    public var rows: [Key: Row] {
        state.withLock { s in s.rows.compactMapValues(\.row) }
    }

    public func version(of key: Key) -> UInt64? { state.withLock { $0.rows[key]?.version } }
    public var batches: Int { state.withLock { $0.batches } }
    /// Writes that carried an older version than the one stored: always 0 from write-behind.
    public var regressions: Int { state.withLock { $0.regressions } }
}

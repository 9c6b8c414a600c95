// The change feed: every committed write gets the next position (1, 2, 3 …, no gaps) and lands
// in a bounded ring, in commit order. Readers pull batches after a position they hold; a reader
// whose position has been overwritten is told to resync from a snapshot instead of missing
// changes silently.

public enum ChangeKind: UInt8, Sendable, Equatable {
    case insert = 1
    case update = 2
    case delete = 3
    /// Removed because its TTL passed (swept, or replaced by a write).
    case expire = 4
    /// Dropped by the row or byte limit; only clean records are evicted.
    case evict = 5
}

public struct Change<Row: TableRecord>: Sendable {
    public var position: UInt64
    public var kind: ChangeKind
    public var key: Row.Key
    /// The record after the change; nil for delete, expire and evict.
    public var row: Row?
}

public enum FeedRead<Row: TableRecord>: Sendable {
    /// Changes after the position asked for, in order, at most the batch size; empty if none.
    case changes([Change<Row>])
    /// The changes after the position asked for are gone: take a snapshot (its position is at
    /// least `oldest - 1`) and continue from there.
    case resync(oldest: UInt64)
}

struct ChangeFeed<Row: TableRecord>: Sendable {
    let capacity: Int
    private var ring: ContiguousArray<Change<Row>> = []
    /// Position before the first change this ring ever held.
    private var origin: UInt64
    /// Position of the newest change (equal to `origin` while empty).
    private(set) var last: UInt64
    /// Where the next change goes once the ring is full (kept, not computed: a division per write).
    private var next = 0

    init(capacity: Int, after origin: UInt64) {
        precondition(capacity > 0, "feed capacity must be positive, got \(capacity)")
        self.capacity = capacity
        self.origin = origin
        self.last = origin
    }

    /// Position of the oldest change still held.
    var oldest: UInt64 { last - UInt64(ring.count) + 1 }

    @inline(__always)
    private func ringIndex(_ position: UInt64) -> Int { Int((position - origin - 1) % UInt64(capacity)) }

    mutating func append(_ change: Change<Row>) {
        precondition(change.position == last + 1, "feed position \(change.position) after \(last)")
        last = change.position
        if ring.count < capacity {
            ring.append(change)
        } else {
            ring[next] = change
            next = next + 1 == capacity ? 0 : next + 1
        }
    }

    func read(after position: UInt64, limit: Int) -> FeedRead<Row> {
        precondition(limit > 0 && position <= last, "feed read after \(position), last \(last), limit \(limit)")
        if position < oldest - 1 { return .resync(oldest: oldest) }
        let end = min(last, position + UInt64(limit))
        var batch: [Change<Row>] = []
        batch.reserveCapacity(Int(end - position))
        var p = position + 1
        while p <= end {
            batch.append(ring[ringIndex(p)])
            p += 1
        }
        return .changes(batch)
    }
}

/// A reader's place in a feed.
public struct FeedCursor: Sendable, Equatable {
    public var position: UInt64
    public init(after position: UInt64) { self.position = position }
}

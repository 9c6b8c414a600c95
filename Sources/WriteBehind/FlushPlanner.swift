// The write-behind core: which changed records to store downstream, in which batches, when, and
// which versions to acknowledge to the table. Pure, like etcd raft's `Ready`: time arrives as
// nanoseconds, randomness as a seed, and every decision comes back as data (batches to store,
// versions to mark flushed). The shell (`WriteBehind`) reads the feed, runs the batches and
// reports how they ended.
//
// The rules, each for a reason:
// * Coalesce: a key changed many times before it is stored is stored once, at its newest version
//   (poses change 30 times a second; the database wants them about once a second).
// * One version of a key in flight at a time, so an older version can never land after a newer
//   one, whatever the store's own ordering.
// * A transient failure (store down, conflict, timeout) puts the batch back and pauses every
//   batch with exponential backoff and jitter: a store that is down is not hammered.
// * A refusal (a constraint) is split in halves until the refused records stand alone; those are
//   parked and retried rarely, and the rest of the batch goes through. Nothing is dropped.
// * Bounded: past `maxPending` keys the shell stops reading the feed (the table's dirty records
//   cannot be evicted, so the table pushes back on its writers in turn).

public struct FlushOptions: Sendable {
    /// How long a change waits before it is stored; later changes to the key within it coalesce.
    public var delay: Duration
    /// Most records in one batch (one statement or transaction downstream).
    public var batchSize: Int
    /// Most batches being stored at once.
    public var maxInFlight: Int
    /// Most keys waiting; beyond it the feed is not read until batches land.
    public var maxPending: Int
    /// First pause after a transient failure; it doubles per failure in a row, up to `retryCap`.
    public var retryBase: Duration
    public var retryCap: Duration
    /// Seeds the backoff's jitter.
    public var seed: UInt64

    public init(
        delay: Duration = .seconds(1), batchSize: Int = 500, maxInFlight: Int = 4, maxPending: Int = 1 << 20,
        retryBase: Duration = .milliseconds(100), retryCap: Duration = .seconds(10), seed: UInt64 = 0x6b757261
    ) {
        precondition(batchSize > 0 && maxInFlight > 0 && maxPending > 0, "write-behind sizes must be positive")
        precondition(delay >= .zero && retryBase > .zero && retryCap >= retryBase, "write-behind durations out of order")
        self.delay = delay
        self.batchSize = batchSize
        self.maxInFlight = maxInFlight
        self.maxPending = maxPending
        self.retryBase = retryBase
        self.retryCap = retryCap
        self.seed = seed
    }
}

/// One record to store: the key at `version`, with its row (nil once deleted).
public struct FlushItem<Key: Hashable & Sendable, Row: Sendable>: Sendable {
    public var key: Key
    public var version: UInt64
    public var row: Row?

    public init(key: Key, version: UInt64, row: Row?) {
        self.key = key
        self.version = version
        self.row = row
    }
}

public struct FlushBatch<Key: Hashable & Sendable, Row: Sendable>: Sendable {
    public let id: UInt64
    public let items: [FlushItem<Key, Row>]
}

/// How a batch failed, as the store judged it.
public enum FlushFailure: Error, Equatable, Sendable {
    /// Nothing was wrong with the records (store unreachable, conflict, timeout): retry them all.
    case transient(String)
    /// The store refused something in the batch and would refuse it again (a constraint).
    case refused(String)
}

public struct FlushStats: Sendable, Equatable {
    /// Keys waiting to be stored (not counting those in flight or parked).
    public var pending = 0
    public var inFlight = 0
    /// Records stored and acknowledged, and the batches that carried them.
    public var stored = 0
    public var batches = 0
    /// Changes folded into a newer version of the same key before they were stored.
    public var coalesced = 0
    public var transientFailures = 0
    /// Records refused on their own and parked for a rare retry.
    public var parked = 0
    public var lastFailure: String?
}

public struct FlushPlanner<Key: Hashable & Sendable, Row: Sendable>: Sendable {
    struct Pending: Sendable {
        var version: UInt64
        var row: Row?
        /// Version of the oldest change folded in: what `settled(through:)` waits on.
        var firstVersion: UInt64
        var due: Int64
    }

    /// A batch whose outcome is awaited, or that waits for its retry.
    struct Flight: Sendable {
        var items: [FlushItem<Key, Row>]
        var due: Int64
        var parked: Bool
    }

    public let options: FlushOptions
    var pending: [Key: Pending] = [:]
    /// Keys of `pending` in the order they became due. Each pending key is in exactly one of
    /// `queue`, `front` (overdue: retried or released) or `held` (its older version is reserved).
    var queue: [Key] = []
    var queueHead = 0
    var front: [Key] = []
    var held: Set<Key> = []
    /// Version of each key being stored, whether in flight or waiting in `retries`.
    var reserved: [Key: UInt64] = [:]
    var flying: [UInt64: Flight] = [:]
    var retries: [Flight] = []
    var backoffUntil: Int64 = .min
    var failuresInARow = 0
    var nextBatchID: UInt64 = 1
    var urgentThrough: UInt64 = 0
    var random: UInt64
    public internal(set) var stats = FlushStats()

    public init(options: FlushOptions = FlushOptions()) {
        self.options = options
        self.random = options.seed
    }

    /// False once `maxPending` keys wait: the shell stops reading changes until batches land.
    public var wantsChanges: Bool { pending.count + stats.parked < options.maxPending }

    /// Nothing waiting, in flight or parked.
    public var isIdle: Bool { pending.isEmpty && reserved.isEmpty }

    /// A change read from the feed (or a dirty record found by a resync). Older or equal versions
    /// than the one already known for the key are ignored.
    public mutating func record(_ key: Key, version: UInt64, row: Row?, now: Int64) {
        if var entry = pending[key] {
            guard version > entry.version else { return }
            entry.version = version
            entry.row = row
            pending[key] = entry
            stats.coalesced += 1
            return
        }
        if let storing = reserved[key] {
            guard version > storing else { return }
            // A newer version may be what the store will take: it replaces the parked one now.
            if unpark(key) {
                pending[key] = Pending(version: version, row: row, firstVersion: version, due: now)
                front.append(key)
                stats.pending = pending.count
                return
            }
        }
        // A key whose older version is still being stored waits its turn like any other; when it
        // comes due it is held until that version lands (`takeDue`).
        queue.append(key)
        pending[key] = Pending(version: version, row: row, firstVersion: version, due: now.addingClamped(options.delay))
        stats.pending = pending.count
    }

    /// Everything changed up to `version` is due now (a sync, or the drain at shutdown).
    public mutating func hurry(through version: UInt64) {
        urgentThrough = max(urgentThrough, version)
    }

    /// Batches to store now: retries first, then overdue keys, then keys in order of due time.
    public mutating func plan(now: Int64) -> [FlushBatch<Key, Row>] {
        var batches: [FlushBatch<Key, Row>] = []
        guard now >= backoffUntil else { return batches }
        var index = 0
        while flying.count < options.maxInFlight && index < retries.count {
            if retries[index].due <= now {
                batches.append(launch(retries.remove(at: index)))
            } else {
                index += 1
            }
        }
        while flying.count < options.maxInFlight {
            let items = takeDue(now: now)
            if items.isEmpty { break }
            for item in items { reserved[item.key] = item.version }
            batches.append(launch(Flight(items: items, due: now, parked: false)))
        }
        compactQueue()
        stats.pending = pending.count
        return batches
    }

    /// When the shell should call `plan` again if nothing else happens; nil when only a landing
    /// batch or a new change can make work.
    public func nextWake(now: Int64) -> Int64? {
        guard flying.count < options.maxInFlight else { return nil }
        var wake: Int64?
        func consider(_ t: Int64) { wake = min(wake ?? t, t) }
        for retry in retries { consider(retry.due) }
        if !front.isEmpty { consider(now) }
        if queueHead < queue.count, let entry = pending[queue[queueHead]] {
            consider(entry.firstVersion <= urgentThrough ? now : entry.due)
        }
        return wake.map { max($0, backoffUntil) }
    }

    mutating func launch(_ flight: Flight) -> FlushBatch<Key, Row> {
        let id = nextBatchID
        nextBatchID += 1
        flying[id] = flight
        stats.inFlight = flying.count
        return FlushBatch(id: id, items: flight.items)
    }

    /// Up to a batch of due keys, moved out of `pending`.
    mutating func takeDue(now: Int64) -> [FlushItem<Key, Row>] {
        var items: [FlushItem<Key, Row>] = []
        while items.count < options.batchSize, let key = front.popLast() {
            precondition(reserved[key] == nil, "write-behind: an overdue key is still being stored")
            items.append(take(key))
        }
        while items.count < options.batchSize && queueHead < queue.count {
            let key = queue[queueHead]
            let entry = pending[key]!
            guard entry.due <= now || entry.firstVersion <= urgentThrough else { break }
            queueHead += 1
            if reserved[key] != nil {
                held.insert(key)
            } else {
                items.append(take(key))
            }
        }
        return items
    }

    mutating func take(_ key: Key) -> FlushItem<Key, Row> {
        let entry = pending.removeValue(forKey: key)!
        return FlushItem(key: key, version: entry.version, row: entry.row)
    }

    mutating func compactQueue() {
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }
}

extension Int64 {
    func addingClamped(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let nanos = overflow ? Int64.max : whole &+ attoseconds / 1_000_000_000
        let (sum, over) = addingReportingOverflow(nanos)
        return over ? .max : sum
    }
}

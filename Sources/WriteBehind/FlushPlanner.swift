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
    /// Where a pending key waits.
    enum Place: Sendable {
        case queued, front, held
    }

    struct Pending: Sendable {
        var version: UInt64
        var row: Row?
        /// The oldest change this entry stands for (a folded-in change, a superseded version
        /// that failed, a change lost in a feed overflow): what `settled(through:)` waits on.
        var firstVersion: UInt64
        var due: Int64
        var place: Place
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
    var frontHead = 0
    var held: Set<Key> = []
    /// A key being stored, in flight or waiting in `retries`: the version, and the oldest change
    /// that version stands for (`Pending.firstVersion`).
    struct Reservation: Sendable {
        var version: UInt64
        var first: UInt64
    }

    var reserved: [Key: Reservation] = [:]
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
    /// Parked records do not count: they must not stop the feed (and every sync) for good.
    public var wantsChanges: Bool { pending.count < options.maxPending }

    /// How many more keys may be recorded before `maxPending`.
    public var room: Int { max(0, options.maxPending - pending.count) }

    /// Nothing waiting, in flight or parked.
    public var isIdle: Bool { pending.isEmpty && reserved.isEmpty }

    /// A change read from the feed, or a dirty record found by a resync. `firstVersion` (at most
    /// `version`) is the oldest change the record stands for: a resync passes the position it
    /// resumed from, because the changes lost from the feed lay after it. A version older than
    /// the one already known for the key is ignored.
    public mutating func record(_ key: Key, version: UInt64, row: Row?, firstVersion: UInt64? = nil, now: Int64) {
        let first = min(firstVersion ?? version, version)
        if var entry = pending[key] {
            entry.firstVersion = min(entry.firstVersion, first)
            if version > entry.version {
                entry.version = version
                entry.row = row
                stats.coalesced += 1
            }
            pending[key] = entry
            if entry.firstVersion <= urgentThrough { promote(key) }
            return
        }
        if let storing = reserved[key] {
            guard version > storing.version else { return }
            // A newer version may be what the store will take: it replaces the parked one now.
            if let parkedFirst = unpark(key) {
                pending[key] = Pending(version: version, row: row, firstVersion: min(first, parkedFirst), due: now, place: .front)
                front.append(key)
                stats.pending = pending.count
                return
            }
        }
        // A key whose older version is still being stored waits its turn like any other; when it
        // comes due it is held until that version lands (`takeDue`).
        queue.append(key)
        pending[key] = Pending(version: version, row: row, firstVersion: first, due: now.addingClamped(options.delay), place: .queued)
        stats.pending = pending.count
        if first <= urgentThrough { promote(key) }
    }

    /// Everything changed up to `version` is due now (a sync, or the drain at shutdown).
    public mutating func hurry(through version: UInt64) {
        guard version > urgentThrough else { return }
        urgentThrough = version
        let urgent = queue[queueHead...].filter { pending[$0]!.firstVersion <= version }
        guard !urgent.isEmpty else { return }
        let keys = Set(urgent)
        queue = queue[queueHead...].filter { !keys.contains($0) }
        queueHead = 0
        for key in urgent { overdue(key) }
    }

    /// Takes a queued key out of turn: a sync waits on it. Held and overdue keys are already on
    /// their way.
    mutating func promote(_ key: Key) {
        guard pending[key]?.place == .queued else { return }
        if let index = queue[queueHead...].firstIndex(of: key) { queue.remove(at: index) }
        overdue(key)
    }

    /// A key out of the queue and due: to `front`, or `held` while its older version is stored.
    mutating func overdue(_ key: Key) {
        if reserved[key] != nil {
            pending[key]!.place = .held
            held.insert(key)
        } else {
            pending[key]!.place = .front
            front.append(key)
        }
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
        if frontHead < front.count { consider(now) }
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
        while items.count < options.batchSize && frontHead < front.count {
            let key = front[frontHead]
            frontHead += 1
            precondition(reserved[key] == nil, "write-behind: an overdue key is still being stored")
            items.append(take(key))
        }
        if frontHead == front.count {
            front.removeAll(keepingCapacity: true)
            frontHead = 0
        }
        while items.count < options.batchSize && queueHead < queue.count {
            let key = queue[queueHead]
            let entry = pending[key]!
            guard entry.due <= now || entry.firstVersion <= urgentThrough else { break }
            queueHead += 1
            if reserved[key] != nil {
                pending[key]!.place = .held
                held.insert(key)
            } else {
                items.append(take(key))
            }
        }
        return items
    }

    /// Moves a key from `pending` to `reserved`: it is being stored from now on.
    mutating func take(_ key: Key) -> FlushItem<Key, Row> {
        let entry = pending.removeValue(forKey: key)!
        reserved[key] = Reservation(version: entry.version, first: entry.firstVersion)
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

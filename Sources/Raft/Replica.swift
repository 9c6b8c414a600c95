// A Raft replica as a value: inputs are `tick()`, `step(_:)` and the propose calls; the output is
// the `Ready` batch. No clock, no IO, no randomness beyond its own seeded generator — so the same
// inputs always give the same outputs, which is what the simulator and the golden tests rely on.
//
// The protocol logic is split by concern: Replica+Election, +Replication, +Snapshot,
// +Membership, +ReadIndex. This file holds the state, the public API and the Ready cycle.

public struct Replica<Log: RaftLogReader>: Sendable {
    public let id: ReplicaID
    let config: RaftConfig
    var random: SplitMix64
    var log: RaftLog<Log>

    public internal(set) var term: Term
    public internal(set) var vote: ReplicaID?
    public internal(set) var role: Role = .follower
    /// The leader of `term` as far as this replica knows.
    public internal(set) var leader: ReplicaID?

    /// Configuration entries in the log, oldest first; the first is the snapshot's. The last is
    /// the configuration in force (thesis §4.1: a replica uses the latest one in its log).
    var configurations: [(index: LogIndex, configuration: Configuration)]

    // Timers, in ticks.
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var electionTimeout = 0

    // Candidate state.
    var votes: [ReplicaID: Bool] = [:]

    // Leader state. Keyed by id, but always iterated in `configuration.members` order.
    var progress: [ReplicaID: Progress] = [:]
    var transferTarget: ReplicaID?
    var pendingReads: [PendingRead] = []
    /// (index, bytes) of entries this leader appended that are not yet committed.
    var uncommitted: [(index: LogIndex, bytes: Int)] = []
    var uncommittedBytes = 0
    /// Appends owed to followers, sent in one batch when the Ready is taken.
    var broadcastPending = false

    // Follower state: a snapshot being received in chunks.
    var incomingSnapshot: IncomingSnapshot?

    // Output and the Ready cycle.
    var messages: [Message] = []
    var readStates: [ReadState] = []
    var lastHardState: HardState
    var lastSoftState: SoftState
    var outstanding: ReadyMark?

    struct PendingRead: Sendable {
        var context: UInt64
        var index: LogIndex
        var acks: [ReplicaID]
    }

    struct IncomingSnapshot: Sendable {
        var metadata: SnapshotMetadata
        var leader: ReplicaID
        var term: Term
        var data: [UInt8]
    }

    struct ReadyMark: Sendable {
        var lastEntry: (index: LogIndex, term: Term)?
        var snapshotIndex: LogIndex?
        var appliedThrough: LogIndex
    }

    /// A replica over `storage`, as it was persisted (a fresh bootstrap or after a restart).
    public init(id: ReplicaID, config: RaftConfig, storage: Log) {
        config.validate()
        self.id = id
        self.config = config
        self.random = SplitMix64(seed: config.seed ^ (id.rawValue &* 0xA076_1D64_78BD_642F))
        self.log = RaftLog(storage: storage)
        let hardState = storage.hardState
        self.term = hardState.term
        self.vote = hardState.vote
        self.lastHardState = HardState(term: hardState.term, vote: hardState.vote, commit: log.committed)
        self.lastSoftState = SoftState(role: .follower, leader: nil)
        let snapshot: SnapshotMetadata
        do { snapshot = try storage.snapshot().metadata } catch { preconditionFailure("no snapshot at start: \(error)") }
        precondition(snapshot.index >= storage.firstIndex.previous, "snapshot older than the log's start")
        self.configurations = [(snapshot.index, snapshot.configuration)]
        if snapshot.index < storage.lastIndex {
            let entries: [Entry]
            do { entries = try storage.entries(snapshot.index.next..<storage.lastIndex.next, bytesMax: .max) } catch {
                preconditionFailure("stored entries unreadable at start: \(error)")
            }
            recordConfigurations(entries)
        }
        becomeFollower(term: term, leader: nil)
    }

    // MARK: inspection

    /// The configuration in force: the latest in the log, committed or not.
    public var configuration: Configuration { configurations[configurations.count - 1].configuration }
    public var commitIndex: LogIndex { log.committed }
    public var appliedIndex: LogIndex { log.applied }
    public var lastIndex: LogIndex { log.lastIndex }
    public var lastTerm: Term { log.lastTerm }
    public var firstIndex: LogIndex { log.firstIndex }
    public func term(at index: LogIndex) -> Term? { log.term(at: index) }
    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    public var softState: SoftState { SoftState(role: role, leader: leader) }
    /// The leader this replica is handing leadership to, if a transfer is under way.
    public var leadershipTransferTarget: ReplicaID? { transferTarget }

    /// The configuration in force at `index` (for the metadata of a snapshot taken there).
    public func configuration(at index: LogIndex) -> Configuration {
        precondition(index >= configurations[0].index, "configuration before the snapshot is unknown")
        return configurations.last { $0.index <= index }!.configuration
    }

    /// The log entries in `range` (committed or not), for inspection and tests.
    public func entries(_ range: Range<LogIndex>) -> [Entry] {
        (try? log.entries(range, bytesMax: .max)) ?? []
    }

    /// One line per follower: match, next and flow-control state (leader only; for traces).
    public var progressDescription: [String] {
        guard role == .leader else { return [] }
        return configuration.members.compactMap { member in
            guard let p = progress[member] else { return nil }
            let learner = configuration.isLearner(member) ? " learner" : ""
            return "\(member): match=\(p.match) next=\(p.next) \(p.state.rawValue)\(learner)"
        }
    }

    /// The leader's view of `member`: the highest index known durable there (nil if not leader).
    public func matchIndex(of member: ReplicaID) -> LogIndex? {
        role == .leader ? progress[member]?.match : nil
    }

    /// The stable storage, which the application writes while handling a Ready.
    public var storage: Log {
        get { log.storage }
        _modify { yield &log.storage }
    }

    // MARK: inputs

    /// One unit of logical time.
    public mutating func tick() {
        if role == .leader { tickLeader() } else { tickElection() }
    }

    /// Delivers a message addressed to this replica.
    public mutating func step(_ message: Message) {
        precondition(message.to == id, "message for \(message.to) stepped into \(id)")
        guard checkTerm(of: message) else { return }
        dispatch(message)
    }

    /// Proposes a command. Only the leader accepts; the entry's index is returned.
    @discardableResult
    public mutating func propose(_ command: [UInt8]) throws(ProposalError) -> LogIndex {
        try propose([command]).lowerBound
    }

    /// Proposes several commands as consecutive entries (one append batch).
    @discardableResult
    public mutating func propose(_ commands: [[UInt8]]) throws(ProposalError) -> ClosedRange<LogIndex> {
        precondition(!commands.isEmpty, "nothing to propose")
        try checkCanPropose()
        let bytes = commands.reduce(0) { $0 + 16 + $1.count }
        if uncommittedBytes > 0 && uncommittedBytes + bytes > config.uncommittedBytesMax { throw .overloaded }
        return appendAsLeader(commands.map { .command($0) })
    }

    // MARK: the Ready cycle

    /// Whether `ready()` would return something to do.
    public var hasReady: Bool {
        if outstanding != nil { return false }
        return broadcastPending || !messages.isEmpty || !log.unstable.isEmpty || log.unstableSnapshot != nil
            || hardState != lastHardState || softState != lastSoftState || !readStates.isEmpty
            || (log.unstableSnapshot == nil && log.applying < log.committed)
    }

    /// Takes the pending work. Handle it as `Ready` documents, then call `advance(_:)`.
    public mutating func ready() -> Ready {
        precondition(outstanding == nil, "ready() called again before advance()")
        flushBroadcast()
        let committed = log.entriesToApply(bytesMax: config.committedBytesMaxPerReady)
        let hard = hardState
        let soft = softState
        let ready = Ready(
            hardState: hard == lastHardState ? nil : hard,
            snapshot: log.unstableSnapshot,
            entries: log.unstable,
            messages: messages,
            committedEntries: committed,
            readStates: readStates,
            softState: soft == lastSoftState ? nil : soft)
        messages = []
        readStates = []
        lastHardState = hard
        lastSoftState = soft
        if let last = committed.last { log.applying = last.index }
        outstanding = ReadyMark(
            lastEntry: log.unstable.last.map { ($0.index, $0.term) },
            snapshotIndex: log.unstableSnapshot?.metadata.index,
            appliedThrough: max(log.applying, log.unstableSnapshot?.metadata.index ?? 0))
        return ready
    }

    /// The application finished handling `ready` (persisted, sent, applied).
    public mutating func advance(_ ready: Ready) {
        guard let mark = outstanding else { preconditionFailure("advance() without ready()") }
        outstanding = nil
        if let index = mark.snapshotIndex { log.stableSnapshot(index) }
        if let last = mark.lastEntry { log.stable(through: last.index, term: last.term) }
        log.applied = max(log.applied, min(mark.appliedThrough, log.applying))
        if role == .leader, let last = mark.lastEntry, log.matches(last.index, last.term) {
            // The leader counts its own copy only once it is durable.
            if progress[id]?.update(match: last.index) == true, maybeCommit() { broadcastPending = true }
        }
    }

    // MARK: helpers shared by the extensions

    mutating func send(_ to: ReplicaID, _ kind: Message.Kind, term: Term? = nil) {
        precondition(to != id, "sending to self")
        messages.append(Message(from: id, to: to, term: term ?? self.term, kind: kind))
    }

    mutating func resetElectionTimeout() {
        electionElapsed = 0
        heartbeatElapsed = 0
        electionTimeout = config.electionTicks + random.below(config.electionTicks)
    }

    func checkCanPropose() throws(ProposalError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard transferTarget == nil else { throw .transferInProgress }
    }

    /// Appends new entries of the current term at the end of the leader's log.
    mutating func appendAsLeader(_ payloads: [Entry.Payload]) -> ClosedRange<LogIndex> {
        precondition(role == .leader)
        let first = log.lastIndex.next
        var entries: [Entry] = []
        entries.reserveCapacity(payloads.count)
        for (i, payload) in payloads.enumerated() {
            let entry = Entry(term: term, index: first.advanced(by: i), payload: payload)
            uncommitted.append((entry.index, entry.byteCount))
            uncommittedBytes += entry.byteCount
            entries.append(entry)
        }
        appendToLog(entries)
        broadcastPending = true
        return first...entries[entries.count - 1].index
    }

    /// Appends to the log (truncating a conflicting tail) and tracks configuration entries.
    mutating func appendToLog(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        let before = configuration
        configurations.removeAll { $0.index >= first.index }
        precondition(!configurations.isEmpty, "truncated below the snapshot's configuration")
        log.append(entries)
        recordConfigurations(entries)
        if configuration != before { configurationChanged() }
    }

    mutating func recordConfigurations(_ entries: [Entry]) {
        for entry in entries {
            guard case .configuration(let change) = entry.payload else { continue }
            switch configuration.applying(change) {
            case .success(let next): configurations.append((entry.index, next))
            case .failure(let error): preconditionFailure("invalid configuration entry \(entry): \(error)")
            }
        }
    }

    /// Every voter and learner except this replica, in id order.
    var peers: [ReplicaID] { configuration.members.filter { $0 != id } }
}

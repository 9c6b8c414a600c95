// One replica of one consensus group, driven through the core's Ready cycle with the durable
// write-ahead log, snapshot files and a state machine — everything but the network and the clock,
// which arrive as `step` and `tick`. It follows `Ready`'s ordering obligations: persist (snapshot
// file, then WAL append + fdatasync), then hand out messages, then install and apply, then
// advance. One instance belongs to one thread (the group's loop); the WAL may be shared by many.
import Raft

public final class ReplicaDriver<Machine: ReplicatedStateMachine> {
    public struct Output {
        /// Send these once `process()` returns (they are backed by durable state).
        public var messages: [Message] = []
        /// The machine's reply for every applied command. A proposer matches index *and* term: an
        /// entry it proposed may have been replaced at that index by another leader's.
        public var replies: [(index: LogIndex, term: Term, reply: [UInt8])] = []
        /// Effects to run: only on the leader, never from replay.
        public var effects: [Machine.Effect] = []
        /// Linearizable reads now safe to serve (the machine has applied their index).
        public var reads: [ReadState] = []
    }

    public let id: ReplicaID
    public let group: UInt64
    public private(set) var replica: Replica<MemoryRaftLog>
    public private(set) var machine: Machine
    let wal: WriteAheadLog
    let directory: String
    /// Entries at or below this index were applied before the last restart: no effects for them.
    let replayThrough: LogIndex
    /// Take a snapshot (and compact the log) every this many applied entries.
    let snapshotEvery: Int
    var snapshotIndex: LogIndex

    /// Opens the replica from what `wal` and the snapshot file hold. A group with no state on disk
    /// starts from `bootstrap` (founding members) or empty (a joiner, to receive a snapshot).
    public init(
        id: ReplicaID, group: UInt64, config: RaftConfig, wal: WriteAheadLog, recovered: RecoveredGroup?,
        directory: String, bootstrap: Configuration?, snapshotEvery: Int = 10_000
    ) throws {
        self.id = id
        self.group = group
        self.wal = wal
        self.directory = directory
        self.snapshotEvery = snapshotEvery
        var snapshot = try SnapshotFile.read(directory: directory, group: group)
        var recovered = recovered ?? RecoveredGroup()
        if snapshot == nil && recovered.hardState == HardState() && recovered.entries.isEmpty, let bootstrap {
            // A founding member's first start: persist the founding snapshot (it holds the
            // configuration) and hard state, so every later start finds them on disk.
            let founding = MemoryRaftLog(bootstrap: bootstrap, data: try Machine(snapshot: []).snapshot())
            let image = try founding.snapshot()
            try SnapshotFile.write(image, directory: directory, group: group)
            try wal.appendAndSync([.hardState(group: group, founding.hardState),
                                   .snapshot(group: group, index: image.metadata.index, term: image.metadata.term)])
            snapshot = image
            recovered.hardState = founding.hardState
        }
        // A joiner with nothing on disk starts empty; the leader will send it a snapshot.
        let base = snapshot ?? Snapshot(metadata: .init(index: 0, term: 0, configuration: .empty), data: [])
        let entries = recovered.entries.filter { $0.index > base.metadata.index }
        let storage = MemoryRaftLog(snapshot: base, hardState: recovered.hardState, entries: entries)
        machine = try Machine(snapshot: base.data)
        snapshotIndex = base.metadata.index
        replayThrough = storage.hardState.commit
        var config = config
        config.seed = config.seed ^ id.rawValue
        replica = Replica(id: id, config: config, storage: storage)
    }

    /// fdatasync calls of the write-ahead log this replica writes to (shared with other groups).
    public var walSyncCount: Int { wal.statistics.syncs }

    public func tick() { replica.tick() }
    public func step(_ message: Message) { replica.step(message) }

    /// Proposes a command; the (index, term) it returns identifies its reply in a later Output.
    public func propose(_ command: [UInt8]) throws(ProposalError) -> (index: LogIndex, term: Term) {
        let index = try replica.propose(command)
        return (index, replica.term)
    }

    /// Proposes commands as consecutive entries (one append, one fsync for all of them).
    public func propose(_ commands: [[UInt8]]) throws(ProposalError) -> (indexes: ClosedRange<LogIndex>, term: Term) {
        let indexes = try replica.propose(commands)
        return (indexes, replica.term)
    }

    /// Proposes a membership change; its (index, term) comes back in `replies` (with an empty
    /// reply) once committed.
    public func proposeConfigurationChange(_ change: ConfigurationChange) throws(ProposalError) -> (index: LogIndex, term: Term) {
        let index = try replica.proposeConfigurationChange(change)
        return (index, replica.term)
    }

    public func transferLeadership(to target: ReplicaID) throws(ProposalError) {
        try replica.transferLeadership(to: target)
    }

    /// Starts a linearizable read; `context` comes back in `Output.reads` when it is safe.
    public func readIndex(context: UInt64) throws(ProposalError) {
        try replica.readIndex(context: context)
    }

    /// Does every piece of pending Ready work; returns what the caller must send and answer.
    /// An error is fatal: the in-memory log may be ahead of the disk, so the caller must stop the
    /// replica (it acknowledged nothing that was not synced; the WAL refuses writes after a failed sync).
    ///
    /// `sendEarly`, when given, lets a leader send its messages *before* its own fsync, so the
    /// followers write to their disks while the leader writes to its own (thesis §10.2.1): safe
    /// because the leader counts its own copy toward commit only after it is durable (`advance`),
    /// and because such a Ready persists no new term or vote that a message could depend on.
    public func process(sendEarly: (([Message]) -> Void)? = nil) throws -> Output {
        var output = Output()
        while replica.hasReady {
            let ready = replica.ready()
            let persisted = replica.storage.hardState
            let early = sendEarly != nil && replica.role == .leader && ready.snapshot == nil
                && (ready.hardState.map { $0.term == persisted.term && $0.vote == persisted.vote } ?? true)
            if early { sendEarly?(ready.messages) }
            try persist(ready)
            if !early { output.messages += ready.messages }
            if let snapshot = ready.snapshot {
                machine = try Machine(snapshot: snapshot.data)
                snapshotIndex = snapshot.metadata.index
            }
            let leader = replica.role == .leader
            for entry in ready.committedEntries {
                if case .configuration = entry.payload { output.replies.append((entry.index, entry.term, [])) }
                guard case .command(let command) = entry.payload else { continue }
                let (reply, effects) = machine.apply(command, at: entry.index)
                output.replies.append((entry.index, entry.term, reply))
                if leader && entry.index > replayThrough { output.effects += effects }
            }
            output.reads += ready.readStates
            replica.advance(ready)
            try compactIfDue()
        }
        return output
    }

    /// Step 1 of the Ready contract: snapshot file, then entries and hard state, durably.
    func persist(_ ready: Ready) throws {
        var records: [WALRecord] = []
        if let snapshot = ready.snapshot {
            try SnapshotFile.write(snapshot, directory: directory, group: group)
            replica.storage.apply(snapshot)
            records.append(.snapshot(group: group, index: snapshot.metadata.index, term: snapshot.metadata.term))
        }
        records += ready.entries.map { .entry(group: group, $0) }
        replica.storage.append(ready.entries)
        let persisted = replica.storage.hardState
        if let hard = ready.hardState {
            records.append(.hardState(group: group, hard))
            replica.storage.setHardState(hard)
        }
        // A Ready that only moves the commit index is written but not synced (etcd's MustSync):
        // a commit index lost in a crash is learned again from the leader, and the WAL is
        // sequential, so a surviving commit record never points past entries that did not survive.
        // Without this, every commit cost a second fdatasync before the client's answer.
        let mustSync = ready.snapshot != nil || !ready.entries.isEmpty
            || (ready.hardState.map { $0.term != persisted.term || $0.vote != persisted.vote } ?? false)
        if records.isEmpty { return }
        if mustSync { try wal.appendAndSync(records) } else { try wal.append(records) }
    }

    /// Every `snapshotEvery` applied entries: snapshot the machine, store it, compact log and WAL.
    func compactIfDue() throws {
        let applied = replica.appliedIndex
        guard snapshotIndex.distance(to: applied) >= snapshotEvery, let term = replica.term(at: applied) else { return }
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: applied, term: term, configuration: replica.configuration(at: applied)),
            data: machine.snapshot())
        try SnapshotFile.write(snapshot, directory: directory, group: group)
        replica.storage.createSnapshot(snapshot)
        replica.storage.compact(through: applied)
        try wal.compact(group: group, through: applied, term: term)
        snapshotIndex = applied
    }
}

// A deterministic simulation of a Raft group: real `Replica` values driven in one thread by a
// seeded network, disk and clock, with crashes, partitions, membership churn and a KV workload.
// The safety properties are checked after every event; the history is kept for the
// linearizability checker. A run is a pure function of its options: same seed, same bytes out.

import Raft

public struct SimulationReport: Sendable {
    public var seed: UInt64
    public var violation: Violation?
    public var trace: [String]
    public var summary: String
    public var history: [KVOperation]
}

public struct Simulation: Sendable {
    enum Event: Sendable {
        case tick(ReplicaID, incarnation: Int)
        case deliver(Message)
        case synced(ReplicaID, incarnation: Int)
        case request(ReplicaID, ClientRequest)
        case response(client: Int, ClientResponse)
        case clientTimeout(client: Int, request: Int, attempt: Int)
        case clientStart(client: Int)
        case clientRetry(client: Int, request: Int, attempt: Int)
        case fault
        case restart(ReplicaID)
    }

    struct Host: Sendable {
        var incarnation = 0
        var alive = true
        var removed = false
        var replica: Replica<MemoryRaftLog>
        var disk: SimulatedDisk
        var machine: KVStateMachine
        var outstanding: Ready?
        var tickInterval: Int
        var lastCommit: LogIndex
        var recordedCommit: LogIndex
        var leaderTerm: Term?
        var proposals: [LogIndex: (client: Int, request: Int)] = [:]
        var reads: [UInt64: (client: Int, request: Int, key: String)] = [:]
        var confirmedReads: [ReadState] = []
    }

    let options: SimulationOptions
    var random: SimulationRandom
    var profile: FaultProfile
    var raftConfig = RaftConfig()
    var now = 0
    var events = EventQueue<Event>()
    var hosts: [ReplicaID: Host] = [:]
    /// Every replica id ever created, in creation order (ids are never reused).
    var ids: [ReplicaID] = []
    var checker = SafetyChecker()
    var clients: [Client] = []
    var history: [KVOperation] = []
    var historyPosition = 0
    var blocked: Set<Link> = []
    var trace: [String] = []
    var readContext: UInt64 = 0
    var stats = Stats()

    struct Link: Hashable, Sendable {
        var from: ReplicaID
        var to: ReplicaID
    }

    struct Stats: Sendable {
        var events = 0, messages = 0, dropped = 0, crashes = 0, partitions = 0, changes = 0, transfers = 0
        var elections = 0, snapshotsSent = 0, compactions = 0, opsOK = 0, opsUnknown = 0, opsFailed = 0
        var lastProgress = 0
    }

    public init(_ options: SimulationOptions) {
        self.options = options
        var random = SimulationRandom(seed: options.seed)
        self.profile = FaultProfile(&random)
        self.random = random
        raftConfig.electionTicks = 10
        raftConfig.heartbeatTicks = 2
        raftConfig.appendBytesMax = profile.appendBytesMax
        raftConfig.inflightMessagesMax = profile.inflightMax
        raftConfig.snapshotChunkBytes = profile.chunkBytes
        raftConfig.plantedBug = options.plantedBug
        let voters = (1...UInt64(options.initialVoters)).map { ReplicaID($0) }
        let bootstrap = MemoryRaftLog(bootstrap: Configuration(voters: voters), data: KVStateMachine().snapshotData)
        for id in voters { addHost(id, storage: bootstrap) }
        for c in 0..<options.clients {
            clients.append(Client(id: c + 1))
            events.schedule(.clientStart(client: c + 1), at: self.random.between(0, 50))
        }
        events.schedule(.fault, at: self.random.between(1, profile.faultInterval))
    }

    var endTime: Int { options.faultTime + options.quietTime }

    /// Runs to the end or to the first violation.
    public mutating func run() -> SimulationReport {
        note("seed \(options.seed): \(profile)")
        var violation: Violation?
        var healed = false
        do {
            while let (time, event) = events.pop(), time <= endTime {
                now = time
                if !healed && now >= options.faultTime {
                    healed = true
                    healAll()
                }
                stats.events += 1
                try handle(event)
            }
            try checkLiveness()
            try checkHistory(history)
        } catch let v {
            violation = v
            note("VIOLATION \(v)")
        }
        let summary = "seed=\(options.seed) " + (violation.map { "FAIL \($0.property)" } ?? "ok")
            + " events=\(stats.events) elections=\(stats.elections) committed=\(checker.highestCommitted)"
            + " ops=\(stats.opsOK)ok/\(stats.opsUnknown)unknown/\(stats.opsFailed)failed"
            + " crashes=\(stats.crashes) partitions=\(stats.partitions) changes=\(stats.changes)"
            + " transfers=\(stats.transfers) snapshots=\(stats.snapshotsSent) compactions=\(stats.compactions)"
            + " messages=\(stats.messages) dropped=\(stats.dropped)"
        return SimulationReport(seed: options.seed, violation: violation, trace: trace, summary: summary, history: history)
    }

    mutating func note(_ line: String) {
        guard options.trace else { return }
        var t = String(now)
        while t.count < 6 { t = " " + t }
        trace.append("t=\(t) \(line)")
    }

    // MARK: events

    mutating func handle(_ event: Event) throws(Violation) {
        switch event {
        case .tick(let id, let incarnation):
            guard let existing = hosts[id], existing.alive, existing.incarnation == incarnation else { return }
            var host = takeHost(id)
            host.replica.tick()
            hosts[id] = host
            events.schedule(.tick(id, incarnation: incarnation), at: now + host.tickInterval)
            try settle(id)
        case .deliver(let message):
            guard let host = hosts[message.to], host.alive else { return }
            if blocked.contains(Link(from: message.from, to: message.to)) {
                stats.dropped += 1
                return
            }
            hosts[message.to]!.replica.step(message)
            try settle(message.to)
        case .synced(let id, let incarnation):
            guard let host = hosts[id], host.alive, host.incarnation == incarnation else { return }
            try completeReady(id)
            afterReady(id)
            try settle(id)
        case .request(let id, let request):
            guard let host = hosts[id], host.alive else { return }
            serve(request, at: id)
            try settle(id)
        case .response(let client, let response):
            receive(response, client: client)
        case .clientTimeout(let client, let request, let attempt):
            timeout(client: client, request: request, attempt: attempt)
        case .clientStart(let client):
            startOperation(client: client)
        case .clientRetry(let client, let request, let attempt):
            retry(client: client, request: request, attempt: attempt)
        case .fault:
            guard now < options.faultTime else { return }
            try injectFault()
            events.schedule(.fault, at: now + random.between(1, 2 * profile.faultInterval))
        case .restart(let id):
            restart(id)
            try settle(id)
        }
    }

    /// After a replica moved: check what changed, and take its next Ready if it may.
    mutating func settle(_ id: ReplicaID) throws(Violation) {
        try observe(id)
        guard let existing = hosts[id], existing.alive, existing.outstanding == nil, existing.replica.hasReady else { return }
        var host = takeHost(id)
        let ready = host.replica.ready()
        // The application writes the Ready to its storage view now; durability comes with the
        // simulated fsync, and only then are messages sent and entries applied.
        if let s = ready.snapshot { host.replica.storage.apply(s) }
        host.replica.storage.append(ready.entries)
        if let h = ready.hardState { host.replica.storage.setHardState(h) }
        let previousTerms = ready.entries.map { try? host.replica.storage.term(at: $0.index.previous) }
        var latency = 0
        if ready.mustSync {
            _ = host.disk.write(ready)
            latency = random.between(0, profile.fsyncMax)
            if random.chance(profile.slowFsync) { latency += random.between(50, 250) }
        }
        host.outstanding = ready
        hosts[id] = host
        events.schedule(.synced(id, incarnation: host.incarnation), at: now + latency)
        for (entry, previous) in zip(ready.entries, previousTerms) {
            try checker.wrote(entry, previousTerm: previous, by: id)
        }
    }

    /// The Ready of `id` is durable: send, install, apply, answer, advance.
    mutating func completeReady(_ id: ReplicaID) throws(Violation) {
        guard let ready = hosts[id]!.outstanding else { return }
        var host = takeHost(id)
        defer { hosts[id] = host }  // also on a violation, so the report can still look
        if ready.mustSync { host.disk.syncOldest() }
        host.outstanding = nil
        for message in ready.messages { send(message) }
        if let s = ready.snapshot {
            host.machine = KVStateMachine(snapshot: s)
            host.proposals = [:]
            note("r\(id) installed snapshot \(s.metadata.index)@\(s.metadata.term) \(s.metadata.configuration)")
        }
        for entry in ready.committedEntries {
            try checker.committed(entry, by: id)
            let command = host.machine.apply(entry)
            if let p = host.proposals.removeValue(forKey: entry.index) {
                if let command, command.client == p.client, command.request == p.request {
                    respond(p.client, .ok(request: p.request, value: nil), from: id)
                } else {
                    respond(p.client, .redirect(request: p.request, leaderHint: nil), from: id)
                }
            }
            if case .configuration(let change) = entry.payload { note("r\(id) applied \(entry.index) \(change)") }
        }
        host.confirmedReads += ready.readStates
        host.replica.advance(ready)
    }

    /// After `completeReady`: answer reads and compact (these look the host up themselves).
    mutating func afterReady(_ id: ReplicaID) {
        serveConfirmedReads(id)
        maybeCompact(id)
    }

    /// Checks the properties that can change when `id` moves.
    mutating func observe(_ id: ReplicaID) throws(Violation) {
        guard var host = hosts[id], host.alive else { return }
        let replica = host.replica
        if replica.commitIndex < host.lastCommit {
            throw Violation(property: "monotone commit", detail: "replica \(id) commit went from \(host.lastCommit) to \(replica.commitIndex)")
        }
        host.lastCommit = replica.commitIndex
        if replica.commitIndex > host.recordedCommit {
            let from = max(host.recordedCommit.next, replica.firstIndex)
            if from <= replica.commitIndex {
                for entry in replica.entries(from..<replica.commitIndex.next) { try checker.committed(entry, by: id) }
            }
            host.recordedCommit = replica.commitIndex
            stats.lastProgress = now
        }
        if replica.role == .leader, host.leaderTerm != replica.term {
            host.leaderTerm = replica.term
            stats.elections += 1
            try checker.leader(id, term: replica.term)
            try checker.checkCompleteness(of: replica)
            note("r\(id) leader term=\(replica.term) last=\(replica.lastIndex) commit=\(replica.commitIndex) \(replica.configuration)")
        }
        hosts[id] = host
    }

    /// Moves a host out of the table, so that mutating it does not copy its logs (a copy shared
    /// with the table would be copied on write). Put it back with `hosts[id] = host`.
    mutating func takeHost(_ id: ReplicaID) -> Host {
        hosts.removeValue(forKey: id)!
    }

    /// The network: drop, duplicate and delay (delays reorder) as the seed's profile says.
    mutating func send(_ message: Message) {
        stats.messages += 1
        if case .snapshotChunk(_, 0, _, _) = message.kind { stats.snapshotsSent += 1 }
        if random.chance(profile.drop) {
            stats.dropped += 1
            return
        }
        events.schedule(.deliver(message), at: now + random.between(1, profile.delayMax))
        if random.chance(profile.duplicate) {
            events.schedule(.deliver(message), at: now + random.between(1, 2 * profile.delayMax))
        }
    }

    mutating func maybeCompact(_ id: ReplicaID) {
        let existing = hosts[id]!
        let applied = existing.machine.appliedIndex
        guard applied.rawValue >= existing.replica.storage.firstIndex.rawValue + UInt64(profile.compactEvery),
            let term = existing.replica.term(at: applied)
        else { return }
        var host = takeHost(id)
        let metadata = SnapshotMetadata(index: applied, term: term, configuration: host.replica.configuration(at: applied))
        let snapshot = Snapshot(metadata: metadata, data: host.machine.snapshotData)
        host.replica.storage.createSnapshot(snapshot)
        host.replica.storage.compact(through: applied)
        host.disk.compact(snapshot)
        hosts[id] = host
        stats.compactions += 1
    }
}

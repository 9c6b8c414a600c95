// Faults: crashes and restarts, partitions (symmetric, one-way, isolating) and healing,
// membership churn through the leader, leadership transfers. All drawn from the seed.

import Raft

extension Simulation {
    mutating func addHost(_ id: ReplicaID, storage: MemoryRaftLog) {
        var config = raftConfig
        config.seed = options.seed &+ id.rawValue
        let snapshot = try! storage.snapshot()
        let host = Host(
            replica: Replica(id: id, config: config, storage: storage), disk: SimulatedDisk(storage),
            machine: KVStateMachine(snapshot: snapshot), tickInterval: random.between(9, 11),
            lastCommit: storage.hardState.commit, recordedCommit: storage.hardState.commit)
        hosts[id] = host
        ids.append(id)
        events.schedule(.tick(id, incarnation: 0), at: now + random.between(1, host.tickInterval))
    }

    var live: [ReplicaID] { ids.filter { hosts[$0]!.alive } }

    /// The live replica that leads the highest term, if any.
    var currentLeader: ReplicaID? {
        live.filter { hosts[$0]!.replica.role == .leader }.max { hosts[$0]!.replica.term < hosts[$1]!.replica.term }
    }

    mutating func injectFault() throws(Violation) {
        let weights = [
            (profile.crashWeight, 0), (profile.partitionWeight, 1), (profile.partitionWeight, 2),
            (profile.churnWeight, 3), (profile.transferWeight, 4),
        ]
        let total = weights.reduce(0) { $0 + $1.0 }
        guard total > 0 else { return }
        var roll = random.below(total)
        for (weight, kind) in weights {
            if roll >= weight {
                roll -= weight
                continue
            }
            switch kind {
            case 0: crashOne()
            case 1: partition()
            case 2: heal()
            case 3: try churn()
            default: try transfer()
            }
            return
        }
    }

    mutating func crashOne() {
        guard let id = random.pick(live.filter { !hosts[$0]!.removed }) else { return }
        var host = takeHost(id)
        let (kept, lost) = host.disk.crash(&random, tornWrites: profile.tornWrites)
        host.alive = false
        host.outstanding = nil
        hosts[id] = host
        stats.crashes += 1
        note("r\(id) crash (unsynced records kept \(kept), lost \(lost))")
        events.schedule(.restart(id), at: now + random.between(50, 1_500))
    }

    /// Restarts a crashed replica from what its disk holds.
    mutating func restart(_ id: ReplicaID) {
        guard let existing = hosts[id], !existing.alive, !existing.removed else { return }
        var host = takeHost(id)
        var config = raftConfig
        config.seed = options.seed &+ id.rawValue &+ UInt64(host.incarnation + 1) &* 7919
        let storage = host.disk.durable
        host.replica = Replica(id: id, config: config, storage: storage)
        host.machine = KVStateMachine(snapshot: try! storage.snapshot())
        host.alive = true
        host.incarnation += 1
        host.lastCommit = host.replica.commitIndex
        host.recordedCommit = host.replica.commitIndex
        host.leaderTerm = nil
        host.proposals = [:]
        host.reads = [:]
        host.confirmedReads = []
        hosts[id] = host
        note("r\(id) restart term=\(host.replica.term) last=\(host.replica.lastIndex) commit=\(host.replica.commitIndex)")
        events.schedule(.tick(id, incarnation: host.incarnation), at: now + random.between(1, host.tickInterval))
    }

    mutating func partition() {
        let members = live
        guard members.count >= 2 else { return }
        stats.partitions += 1
        switch random.below(3) {
        case 0:
            let isolated = random.pick(members)!
            for other in members where other != isolated {
                blocked.insert(Link(from: isolated, to: other))
                blocked.insert(Link(from: other, to: isolated))
            }
            note("partition: r\(isolated) isolated")
        case 1:
            var side: [ReplicaID] = []
            var rest: [ReplicaID] = []
            for id in members { if random.chance(500) { side.append(id) } else { rest.append(id) } }
            for a in side { for b in rest { blocked.insert(Link(from: a, to: b)); blocked.insert(Link(from: b, to: a)) } }
            note("partition: \(side.map(\.description).joined(separator: ",")) | \(rest.map(\.description).joined(separator: ","))")
        default:
            let from = random.pick(members)!
            let to = random.pick(members.filter { $0 != from })!
            blocked.insert(Link(from: from, to: to))
            note("partition: one-way r\(from) -> r\(to) cut")
        }
    }

    mutating func heal() {
        guard !blocked.isEmpty else { return }
        blocked = []
        note("heal")
    }

    /// End of the fault phase: heal the network, restart every crashed member.
    mutating func healAll() {
        heal()
        profile.drop = 0
        profile.duplicate = 0
        profile.slowFsync = 0
        note("faults stop")
        for id in ids where !hosts[id]!.alive && !hosts[id]!.removed {
            events.schedule(.restart(id), at: now + random.between(1, 50))
        }
    }

    /// One membership step through the leader: add a learner, promote it when caught up,
    /// or remove a member; and retire replicas whose removal is committed.
    mutating func churn() throws(Violation) {
        guard let leaderID = currentLeader else { return }
        var leader = hosts[leaderID]!.replica
        let committedConfiguration = leader.configuration(at: leader.commitIndex)
        for id in ids where !hosts[id]!.removed && !committedConfiguration.contains(id) && leader.configuration == committedConfiguration {
            hosts[id]!.removed = true
            hosts[id]!.alive = false
            note("r\(id) retired (removed from \(committedConfiguration))")
        }
        let configuration = leader.configuration
        let change: ConfigurationChange
        if let learner = configuration.learners.first {
            if let match = leader.matchIndex(of: learner), match >= leader.commitIndex, random.chance(700) {
                change = .promote(learner)
            } else if random.chance(200) {
                change = .remove(learner)
            } else {
                return
            }
        } else if configuration.voters.count < 5 && random.chance(600) {
            let id = ReplicaID(UInt64(ids.count + 1))
            precondition(!ids.contains(id), "replica ids are never reused")
            change = .addLearner(id)
        } else if configuration.voters.count > 3 {
            change = .remove(random.pick(configuration.voters)!)
        } else {
            return
        }
        let index: LogIndex
        do { index = try leader.proposeConfigurationChange(change) } catch {
            note("r\(leaderID) refuses \(change): \(error)")
            return
        }
        hosts[leaderID]!.replica = leader
        stats.changes += 1
        note("r\(leaderID) proposes \(change) at \(index)")
        if case .addLearner(let id) = change { addHost(id, storage: MemoryRaftLog()) }
        try settle(leaderID)
    }

    mutating func transfer() throws(Violation) {
        guard let leaderID = currentLeader else { return }
        let voters = hosts[leaderID]!.replica.configuration.voters.filter { $0 != leaderID }
        guard let target = random.pick(voters) else { return }
        do { try hosts[leaderID]!.replica.transferLeadership(to: target) } catch {
            note("r\(leaderID) refuses transfer to r\(target): \(error)")
            return
        }
        stats.transfers += 1
        note("r\(leaderID) transfers leadership to r\(target)")
        try settle(leaderID)
    }

    /// After the quiet phase: a leader must exist and the cluster must have committed recently.
    func checkLiveness() throws(Violation) {
        guard currentLeader != nil else {
            throw Violation(property: "liveness", detail: "no leader \(options.quietTime) time units after the faults stopped")
        }
        guard stats.lastProgress >= options.faultTime else {
            throw Violation(property: "liveness", detail: "nothing committed after the faults stopped")
        }
    }
}

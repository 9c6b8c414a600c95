// `kura cluster status | add | remove | transfer-leader`: membership and leadership of a
// `kura serve` group. `add` is the safe path: the new replica's address is committed first, it
// joins as a learner, catches up (by snapshot if the log was compacted), and only then becomes a
// voter — so it never counts toward a quorum while it is behind.
import ArgumentParser
import Dispatch
import Raft
import RaftServer

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Inspect and change the membership of a `kura serve` group.",
        subcommands: [ClusterStatus.self, ClusterAdd.self, ClusterRemove.self, ClusterTransfer.self])
}

struct ClusterStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Each replica's view of the group.")
    @OptionGroup var client: ClientOptions
    @Flag(help: "One JSON object a line.")
    var json = false

    func run() throws {
        let (ids, json) = (client.peers.ids, json)
        let lines = try client.withClient { client in
            var lines: [String] = []
            for id in ids {
                do {
                    let s = try await client.status(of: id)
                    lines.append(json ? s.json() : "replica \(s.id): \(s.role) term \(s.term) leader \(s.leader.map(String.init) ?? "-") "
                        + "commit \(s.commit) applied \(s.applied) log \(s.firstIndex)…\(s.lastIndex) "
                        + "voters \(s.voters) learners \(s.learners)")
                } catch {
                    lines.append(json ? ReplicaStatus.unreachableJSON(id: id.rawValue, error: "\(error)") : "replica \(id): unreachable (\(error))")
                }
            }
            return lines
        }
        for line in lines { print(line) }
    }
}

/// Finds the leader's status, asking every replica; waits out an election.
func leaderStatus(_ client: KuraClient, _ ids: [ReplicaID], deadline: ContinuousClock.Instant) async throws -> ReplicaStatus {
    while ContinuousClock.now < deadline {
        for id in ids {
            if let s = try? await client.status(of: id), s.role == "leader" { return s }
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw ValidationError("no leader found")
}

struct ClusterAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add replica ID=HOST:PORT (started with `kura serve --join`): learner, catch-up, voter.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "ID=HOST:PORT of the new replica.", transform: PeerList.parse)
    var replica: PeerList
    @Flag(help: "Leave it a learner (it never votes).")
    var learner = false
    @Option(help: "Seconds to wait for it to catch up.")
    var catchUpTimeout = 120.0

    func run() throws {
        guard replica.addresses.count == 1, let (id, address) = replica.addresses.first else {
            throw ValidationError("give one ID=HOST:PORT")
        }
        let ids = client.peers.ids
        let (learner, wait) = (learner, catchUpTimeout)
        try client.withClient { client in
            try expectOK(await client.call(.setAddress(id, address.description)), "record the address of \(id)")
            try expectOK(await client.call(.change(.addLearner(id))), "add \(id) as a learner")
            if learner { return }
            let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
            while true {
                let leader = try await leaderStatus(client, ids, deadline: deadline)
                if let match = leader.match[id.description], match >= leader.commit { break }
                guard ContinuousClock.now < deadline else { throw ValidationError("replica \(id) did not catch up in \(wait) s") }
                try await Task.sleep(for: .milliseconds(100))
            }
            try expectOK(await client.call(.change(.promote(id))), "promote \(id) to voter")
        }
        print("replica \(id) added" + (learner ? " as a learner" : ""))
    }
}

struct ClusterRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove replica ID (leadership moves away from it first).")
    @OptionGroup var client: ClientOptions
    @Argument var id: UInt64

    func run() throws {
        let target = ReplicaID(id)
        let ids = client.peers.ids
        try client.withClient { client in
            let deadline = ContinuousClock.now + .seconds(30)
            let leader = try await leaderStatus(client, ids, deadline: deadline)
            if leader.id == target.rawValue, let other = leader.voters.first(where: { $0 != target.rawValue }) {
                try await transfer(client, to: ReplicaID(other), ids: ids, deadline: deadline)
            }
            try expectOK(await client.call(.change(.remove(target))), "remove \(target)")
        }
        print("replica \(id) removed")
    }
}

struct ClusterTransfer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfer-leader", abstract: "Hand leadership to voter ID.")
    @OptionGroup var client: ClientOptions
    @Argument var id: UInt64

    func run() throws {
        let ids = client.peers.ids
        let target = ReplicaID(id)
        try client.withClient { client in
            try await transfer(client, to: target, ids: ids, deadline: ContinuousClock.now + .seconds(30))
        }
        print("replica \(id) leads")
    }
}

func transfer(_ client: KuraClient, to target: ReplicaID, ids: [ReplicaID], deadline: ContinuousClock.Instant) async throws {
    while ContinuousClock.now < deadline {
        let leader = try await leaderStatus(client, ids, deadline: deadline)
        if leader.id == target.rawValue { return }
        _ = try? await client.call(.transferLeader(target), at: ReplicaID(leader.id))
        try await Task.sleep(for: .milliseconds(200))
    }
    throw ValidationError("leadership did not move to \(target)")
}

func expectOK(_ response: Response, _ what: String) throws {
    guard case .ok = response else { throw ValidationError("\(what): \(response)") }
}

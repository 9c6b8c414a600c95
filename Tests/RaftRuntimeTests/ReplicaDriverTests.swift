// Three replicas with real write-ahead logs and snapshot files in temporary directories, wired by
// in-process message queues: they elect a leader, commit writes, survive a full restart from disk,
// and a replica that was down while the leader compacted its log catches up by snapshot install.
// Effects run on the leader only and never again on replay.
import Foundation
import Raft
@testable import RaftRuntime
import Testing

final class LocalCluster {
    let root = NSTemporaryDirectory() + "kura-cluster-" + UUID().uuidString
    let ids: [ReplicaID] = [1, 2, 3]
    var drivers: [ReplicaID: ReplicaDriver<KVMachine>] = [:]
    var inbox: [Message] = []
    var effects: [ReplicaID: [String]] = [:]
    let snapshotEvery: Int

    init(snapshotEvery: Int) throws {
        self.snapshotEvery = snapshotEvery
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for id in ids { try start(id) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func start(_ id: ReplicaID) throws {
        let directory = "\(root)/r\(id)"
        let (wal, groups) = try WriteAheadLog.open(directory: directory)
        var config = RaftConfig()
        config.seed = 99
        drivers[id] = try ReplicaDriver<KVMachine>(
            id: id, group: 1, config: config, wal: wal, recovered: groups[1], directory: directory,
            bootstrap: Configuration(voters: ids), snapshotEvery: snapshotEvery)
    }

    func crash(_ id: ReplicaID) { drivers[id] = nil }

    /// One round: every live replica processes its Ready, messages are delivered, then one tick.
    func round(tick: Bool = true) throws {
        for id in ids {
            guard let driver = drivers[id] else { continue }
            // Leaders send before their own fsync (thesis §10.2.1), as `kura serve` does.
            var early: [Message] = []
            let output = try driver.process(sendEarly: { early += $0 })
            inbox += early + output.messages
            effects[id, default: []] += output.effects
        }
        let delivering = inbox
        inbox = []
        for message in delivering { drivers[message.to]?.step(message) }
        if tick { for id in ids { drivers[id]?.tick() } }
    }

    var leader: ReplicaDriver<KVMachine>? {
        drivers.values.first { $0.replica.role == .leader }
    }

    struct Stuck: Error, CustomStringConvertible { let description: String }

    var state: String {
        ids.map { id in
            guard let d = drivers[id] else { return "r\(id): down" }
            return "r\(id): \(d.replica.role) term \(d.replica.term) last \(d.replica.lastIndex) commit \(d.replica.commitIndex) applied \(d.replica.appliedIndex) first \(d.replica.firstIndex)"
        }.joined(separator: "; ")
    }

    func untilLeader() throws -> ReplicaDriver<KVMachine> {
        for _ in 0..<500 {
            try round()
            if let leader { return leader }
        }
        throw Stuck(description: "no leader: \(state)")
    }

    /// Runs rounds until every live replica applied through the leader's commit index.
    func settle() throws {
        for _ in 0..<2000 {
            try round()
            if let leader, drivers.values.allSatisfy({ $0.replica.appliedIndex == leader.replica.commitIndex && $0.replica.lastIndex == leader.replica.lastIndex }) {
                return
            }
        }
        throw Stuck(description: "not settled: \(state); leader progress: \(leader?.replica.progressDescription ?? [])")
    }

    func put(_ count: Int, prefix: String) throws {
        for i in 0..<count {
            let leader = try untilLeader()
            _ = try leader.propose(KVMachine.encode(.put(key: "\(prefix)\(i % 50)", value: "\(prefix)-\(i)")))
            if i % 10 == 9 { try round(tick: false) }
        }
        try settle()
    }
}

@Suite struct ReplicaDriverTests {
    @Test func commitRestartAndCatchUpBySnapshot() throws {
        let cluster = try LocalCluster(snapshotEvery: 100)
        _ = try cluster.untilLeader()
        try cluster.put(200, prefix: "a")
        let machines = cluster.ids.map { cluster.drivers[$0]!.machine }
        #expect(Set(machines.map(\.values)).count == 1)
        #expect(machines[0].values["a49"] == "a-199")

        // Replica 3 misses 500 writes while the others snapshot and compact their logs past it.
        let victim: ReplicaID = cluster.leader!.id == 3 ? 2 : 3
        cluster.crash(victim)
        try cluster.put(500, prefix: "b")
        let leader = cluster.leader!
        #expect(leader.replica.firstIndex > 300, "the leader should have compacted its log")
        try cluster.start(victim)
        try cluster.settle()
        #expect(cluster.drivers[victim]!.machine.values == leader.machine.values)

        // Every replica restarts from its write-ahead log and snapshot file alone.
        let before = leader.machine.values
        let effectsBefore = cluster.effects.values.map(\.count).reduce(0, +)
        for id in cluster.ids { cluster.crash(id) }
        for id in cluster.ids { try cluster.start(id) }
        _ = try cluster.untilLeader()
        try cluster.settle()
        for id in cluster.ids { #expect(cluster.drivers[id]!.machine.values == before) }
        #expect(cluster.effects.values.map(\.count).reduce(0, +) == effectsBefore, "replay ran effects again")
        #expect(effectsBefore == 700, "one effect per put, run once, on the leader")
    }

    @Test func snapshotFileRoundTripAndDamage() throws {
        let dir = NSTemporaryDirectory() + "kura-snap-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 9, term: 2, configuration: Configuration(voters: [1, 2], learners: [5])), data: [1, 2, 3])
        try SnapshotFile.write(snapshot, directory: dir, group: 4)
        #expect(try SnapshotFile.read(directory: dir, group: 4) == snapshot)
        #expect(try SnapshotFile.read(directory: dir, group: 5) == nil)
        let path = SnapshotFile.path(directory: dir, group: 4)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count / 2] ^= 1
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: WALError.self) { try SnapshotFile.read(directory: dir, group: 4) }
    }

    @Test func kvMachineSnapshotRestoresExactly() throws {
        var machine = try KVMachine(snapshot: [])
        #expect(machine.apply(KVMachine.encode(.put(key: "k", value: "v0")), at: 1).reply == [])
        #expect(machine.apply(KVMachine.encode(.put(key: "k", value: "v1", returnPrevious: true)), at: 1).reply == Array("v0".utf8))
        #expect(machine.apply(KVMachine.encode(.cas(key: "k", expected: "v0", value: "x")), at: 2).reply == [0])
        #expect(machine.apply(KVMachine.encode(.cas(key: "k", expected: "v1", value: "v2")), at: 3).reply == [1])
        #expect(machine.apply(KVMachine.encode(.cas(key: "new", expected: nil, value: "n")), at: 4).reply == [1])
        let restored = try KVMachine(snapshot: machine.snapshot())
        #expect(restored == machine)
    }
}

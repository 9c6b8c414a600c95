// Acceptance 3 of the consensus runtime, on real processes: a replica that was down while
// 100,000 writes were committed (and the log compacted) catches up by snapshot install; the
// group grows from 3 to 5 replicas and shrinks back to 3 under load, through `kura cluster`,
// with every acknowledged write kept and the history linearizable.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Linearizability
import Raft
import RaftServer
import Synchronization
import Testing

@Suite("Real-process catch-up and membership", .serialized)
struct MembershipTests {
    @Test("a replica down for 100,000 writes catches up by snapshot", .timeLimit(.minutes(6)))
    func catchUpBySnapshot() async throws {
        let cluster = try ProcessCluster(replicas: 3, useProxies: false, snapshotEvery: 20_000)
        let leader = try await waitForLeader(cluster)
        let absent = cluster.founders.first { $0 != leader }!
        cluster.kill9(absent)
        let client = KuraClient(servers: cluster.servers, group: cluster.group, timeout: .seconds(10))
        let total = 100_000
        let acknowledged = try await writeConcurrently(client, total: total, concurrency: 64)
        #expect(acknowledged == total)

        let before = try await client.status(of: leader)
        #expect(before.firstIndex > 2, "the leader compacted its log: \(before.json())")
        try cluster.start(absent)
        let statuses = try await waitForConvergence(cluster, client, timeout: .seconds(120))
        let caughtUp = try #require(statuses.first { $0.id == absent.rawValue })
        let reference = try #require(statuses.first { $0.id != absent.rawValue })
        #expect(caughtUp.firstIndex > 2, "it installed a snapshot rather than replaying from the start: \(caughtUp.json())")
        #expect(caughtUp.appliedCommands == reference.appliedCommands)
        #expect(caughtUp.stateDigest == reference.stateDigest, "\(caughtUp.json()) vs \(reference.json())")
        #expect(caughtUp.appliedCommands >= total + 1)
        await client.close()
    }

    @Test("3 → 5 → 3 replicas under load through kura cluster add/remove", .timeLimit(.minutes(5)))
    func growAndShrink() async throws {
        let cluster = try ProcessCluster(replicas: 3, useProxies: false)
        try await waitForLeader(cluster)
        try cluster.startJoiner(4)
        try cluster.startJoiner(5)
        let everyone = cluster.servers
        let recorder = HistoryRecorder()
        let stop = StopFlag()
        let workers = (1...4).map { process in
            Task {
                let client = KuraClient(servers: everyone, group: cluster.group, timeout: .seconds(3))
                await runWorker(process, client: client, keys: 5, recorder: recorder, stop: stop)
                await client.close()
            }
        }
        try await Task.sleep(for: .seconds(1))
        let peers = ProcessCluster.peerList(everyone)
        for id in [4, 5] as [ReplicaID] {
            let result = try runKura(["cluster", "add", "--peers", peers, "\(id)=127.0.0.1:\(cluster.ports[id]!)"])
            #expect(result.status == 0, "add \(id): \(result.output)")
        }
        let client = KuraClient(servers: everyone, group: cluster.group, timeout: .seconds(3))
        let grown = try await client.status(of: try await waitForLeader(cluster))
        #expect(grown.voters == [1, 2, 3, 4, 5], "\(grown.json())")
        try await Task.sleep(for: .seconds(1))
        for id in [1, 2] as [ReplicaID] {
            let result = try runKura(["cluster", "remove", "--peers", peers, "\(id)"])
            #expect(result.status == 0, "remove \(id): \(result.output)")
        }
        // A removed replica stops by itself, saying why (from its applied configuration, or by
        // asking its peers once its leader has been silent).
        for id in [1, 2] as [ReplicaID] {
            let deadline = ContinuousClock.now + .seconds(30)
            while cluster.processes[id]!.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!cluster.processes[id]!.isRunning, "removed replica \(id) still runs")
            #expect(cluster.log(id).contains("was removed from the group"), "replica \(id): \(cluster.log(id).suffix(500))")
        }
        // A removed id is never admitted again.
        let readd = try runKura(["cluster", "add", "--peers", peers, "1=127.0.0.1:\(cluster.ports[1]!)"])
        #expect(readd.status != 0 && readd.output.contains("never admitted again"), "\(readd.output)")
        stop.set()
        for worker in workers { await worker.value }
        for id in [1, 2] as [ReplicaID] { cluster.kill9(id) }

        let statuses = try await waitForConvergence(cluster, client, recorder: recorder)
        let counts = recorder.counts
        #expect(counts.appliedWrites > 50, "\(counts)")
        for status in statuses {
            // The barrier's attempts are in the counts (a retried one may be applied twice).
            #expect(status.voters == [3, 4, 5], "\(status.json())")
            #expect(status.appliedCommands >= counts.appliedWrites, "an acknowledged write is missing: \(counts) \(status.json())")
            #expect(status.appliedCommands <= counts.appliedWrites + counts.unknownWrites, "\(counts) \(status.json())")
        }
        #expect(Set(statuses.map(\.stateDigest)).count == 1)
        let result = recorder.history.check(KVModel())
        if let window = result.window { Issue.record("not linearizable: \(window.describe(model: KVModel()).joined(separator: "\n"))") }
        print("3→5→3 under load: \(counts)")
        await client.close()
    }
}

/// Puts `total` distinct writes with `concurrency` in flight; returns how many were acknowledged.
func writeConcurrently(_ client: KuraClient, total: Int, concurrency: Int) async throws -> Int {
    let next = Ticket()
    return try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var acknowledged = 0
                while true {
                    let n = next.take()
                    guard n < total else { return acknowledged }
                    var attempts = 0
                    while true {
                        let response = try await client.call(.put(key: "w\(n % 4096)", value: "v\(n)"))
                        if case .ok = response { acknowledged += 1; break }
                        attempts += 1
                        guard attempts < 5, case .failed = response else { throw ClusterTestError("write \(n): \(response)") }
                    }
                }
            }
        }
        return try await group.reduce(0, +)
    }
}

func runKura(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ProcessCluster.kura)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

final class Ticket: Sendable {
    private let counter = Atomic<Int>(0)
    func take() -> Int { counter.wrappingAdd(1, ordering: .relaxed).oldValue }
}

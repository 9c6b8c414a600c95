// Acceptance 1 of the consensus runtime: three real `kura serve` processes on 127.0.0.1 under
// client load, while the test kills the leader with SIGKILL (and restarts it), stops a replica
// with SIGSTOP for longer than the election timeout, and cuts replicas off through per-link
// proxies. The recorded history must be linearizable, and once every replica is back, each one
// holds exactly the acknowledged writes (plus possibly some whose answer was lost, never others).
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Linearizability
import Raft
import RaftServer
import Testing

@Suite("Real-process cluster under faults", .serialized)
struct ClusterFaultTests {
    @Test("kill -9, SIGSTOP and partitions under load: linearizable, nothing acknowledged lost", .timeLimit(.minutes(4)))
    func faultsUnderLoad() async throws {
        let cluster = try ProcessCluster(replicas: 3, useProxies: true)
        let keys = 6
        let recorder = HistoryRecorder()
        let stop = StopFlag()
        try await waitForLeader(cluster)

        let workers = (1...5).map { process in
            Task {
                let client = KuraClient(servers: cluster.servers, group: cluster.group, timeout: .seconds(3))
                await runWorker(process, client: client, keys: keys, recorder: recorder, stop: stop)
                await client.close()
            }
        }
        try await Task.sleep(for: .seconds(2))
        var faults: [String] = []
        for round in 1...2 {
            let leader = try await waitForLeader(cluster)
            cluster.kill9(leader)
            faults.append("round \(round): kill -9 leader \(leader)")
            try await Task.sleep(for: .milliseconds(1500))
            try cluster.start(leader)
            try await Task.sleep(for: .seconds(2))
        }
        let paused = try await waitForLeader(cluster)
        cluster.signal(paused, SIGSTOP)
        faults.append("SIGSTOP leader \(paused) for 2.5 s")
        try await Task.sleep(for: .milliseconds(2500))
        cluster.signal(paused, SIGCONT)
        try await Task.sleep(for: .seconds(2))

        let isolated = try await waitForLeader(cluster)
        cluster.isolate(isolated, true)
        faults.append("links of leader \(isolated) cut for 2.5 s")
        try await Task.sleep(for: .milliseconds(2500))
        cluster.isolate(isolated, false)
        try await Task.sleep(for: .seconds(2))
        let current = try await waitForLeader(cluster)
        let follower = cluster.founders.first { $0 != current }!
        cluster.isolate(follower, true)
        faults.append("links of follower \(follower) cut for 2 s")
        try await Task.sleep(for: .seconds(2))
        cluster.isolate(follower, false)
        try await Task.sleep(for: .seconds(1))

        stop.set()
        for worker in workers { await worker.value }

        // Every replica back and caught up: a barrier write, then all applied indexes agree.
        // Closed before the test returns, never by a Task of its own: one that ran after the
        // cluster's event loops shut down would hand its close to a dead loop (NIO's debug build traps).
        let client = KuraClient(servers: cluster.servers, group: cluster.group, timeout: .seconds(3))
        let statuses = try await waitForConvergence(cluster, client, recorder: recorder)
        let counts = recorder.counts
        let description = "faults: \(faults.joined(separator: "; ")); counts: \(counts); statuses: \(statuses.map { $0.json() })"
        #expect(counts.appliedWrites > 100, "the load must have made progress: \(description)")
        for status in statuses {
            // The barrier's attempts are in the counts. Unknown writes may or may not have been
            // applied; nothing else.
            #expect(status.appliedCommands >= counts.appliedWrites, "an acknowledged write is missing: \(description)")
            #expect(status.appliedCommands <= counts.appliedWrites + counts.unknownWrites, "a write nobody made: \(description)")
        }
        // Final linearizable reads join the history; every replica's own copy must agree with them.
        for k in 0..<keys {
            let key = "k\(k)"
            recorder.invoke(1000, .read(key: key))
            let answer = try await client.call(.get(key: key))
            recorder.complete(1000, .read(key: key), .success(answer))
            for id in cluster.founders {
                let local = try await client.call(.getLocal(key: key), at: id)
                #expect(try local.value() == answer.value(), "replica \(id) disagrees on \(key): \(description)")
            }
        }
        let result = recorder.history.check(KVModel())
        if let window = result.window {
            Issue.record("not linearizable: \(window.describe(model: KVModel()).joined(separator: "\n"))\n\(description)")
        }
        #expect(result.isLinearizable, "\(description)")
        print("cluster under faults: \(counts), \(recorder.history.operations.count) operations checked; \(faults.joined(separator: "; "))")
        await client.close()
    }
}

/// The leader as the replicas themselves report it (the highest term wins), waiting out elections.
@discardableResult
func waitForLeader(_ cluster: ProcessCluster, timeout: Duration = .seconds(20)) async throws -> ReplicaID {
    let client = KuraClient(servers: cluster.servers, group: cluster.group, timeout: .seconds(1))
    let found = await outcome { () async throws -> ReplicaID in
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var best: ReplicaStatus?
            for id in cluster.processes.keys {
                if let s = try? await client.status(of: id), s.role == "leader", s.term > (best?.term ?? 0) { best = s }
            }
            if let best { return ReplicaID(best.id) }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ClusterTestError("no leader within \(timeout)")
    }
    await client.close()
    return try found.get()
}

/// Writes a barrier through the leader, then waits until every running replica applied it.
/// Every barrier attempt goes into `recorder` like any other write: an attempt answered `unknown`
/// and then retried may be applied twice, and the counts must say so for their bounds to be exact.
func waitForConvergence(_ cluster: ProcessCluster, _ client: KuraClient, timeout: Duration = .seconds(60),
                        recorder: HistoryRecorder? = nil) async throws -> [ReplicaStatus] {
    let deadline = ContinuousClock.now + timeout
    var barrier: Response = .failed("not tried")
    let (process, input) = (999, KVModel.Input.write(key: "barrier", 1))
    while ContinuousClock.now < deadline {
        recorder?.invoke(process, input)
        let result: Result<Response, any Error>
        do { result = .success(try await client.call(.put(key: "barrier", value: "1"))) } catch { result = .failure(error) }
        recorder?.complete(process, input, result)
        barrier = try result.get()
        if case .ok = barrier { break }
        try await Task.sleep(for: .milliseconds(200))
    }
    guard case .ok = barrier else { throw ClusterTestError("barrier write failed: \(barrier)") }
    // What the last look saw, for the failure message: which replica lagged, and where.
    var seen = "no status read"
    while ContinuousClock.now < deadline {
        let leader = try await waitForLeader(cluster)
        let target = try await client.status(of: leader).commit
        var statuses: [ReplicaStatus] = []
        var lines = ["leader \(leader.rawValue) commit \(target)"]
        for id in cluster.processes.keys.sorted() {
            if let s = try? await client.status(of: id) {
                statuses.append(s)
                lines.append("replica \(s.id): \(s.role) term \(s.term) commit \(s.commit) applied \(s.applied) last \(s.lastIndex)")
            } else {
                lines.append("replica \(id.rawValue): no status")
            }
        }
        seen = lines.joined(separator: "; ")
        if statuses.count == cluster.processes.count, statuses.allSatisfy({ $0.applied >= target }) { return statuses }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw ClusterTestError("replicas did not converge within \(timeout): \(seen)")
}

struct ClusterTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

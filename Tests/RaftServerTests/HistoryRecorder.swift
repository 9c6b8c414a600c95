// Client load against a real cluster, recorded as a history for the linearizability checker.
// Every worker is one Jepsen "process": one operation in flight, invoked before the request is
// sent and completed after its answer arrives, all under one lock so positions follow real time.
import Linearizability
import Raft
import RaftServer
import Synchronization
import Locks

final class HistoryRecorder: Sendable {
    struct Counts: Sendable {
        /// Writes the cluster said it applied (a refused cas was applied too: it was committed).
        var appliedWrites = 0
        var unknownWrites = 0
        var failedWrites = 0
        var reads = 0
    }

    let state = SanitizedMutex<(history: History<KVModel>, counts: Counts)>((History(), Counts()))

    var history: History<KVModel> { state.withLock { $0.history } }
    var counts: Counts { state.withLock { $0.counts } }

    func invoke(_ process: Int, _ input: KVModel.Input) {
        state.withLock { try! $0.history.invoke(process: ProcessID(process), input) }
    }

    /// Records the answer to `input` and returns the value a read saw.
    @discardableResult
    func complete(_ process: Int, _ input: KVModel.Input, _ result: Result<Response, any Error>) -> Int?? {
        state.withLock { s -> Int?? in
            let p = ProcessID(process)
            switch (input, result) {
            case (.read, .success(let response)):
                let value: String?
                do { value = try response.value() } catch { try! s.history.fail(process: p); return .none }
                s.counts.reads += 1
                let number = value.flatMap { Int($0) }
                try! s.history.ok(process: p, .read(number))
                return .some(number)
            case (.read, .failure):
                try! s.history.fail(process: p)
            case (.write, .success(.ok)):
                s.counts.appliedWrites += 1
                try! s.history.ok(process: p, .written)
            case (.cas, .success(.ok(let reply))):
                s.counts.appliedWrites += 1
                if reply == [1] { try! s.history.ok(process: p, .written) } else { try! s.history.fail(process: p) }
            case (_, .success(.failed)), (_, .success(.notLeader)):
                s.counts.failedWrites += 1
                try! s.history.fail(process: p)
            default:
                // Unknown, timed out, connection lost: it may take effect at any later time.
                s.counts.unknownWrites += 1
                try! s.history.info(process: p)
            }
            return .none
        }
    }
}

/// One worker: random reads, unique-valued writes and compare-and-sets over a few keys.
func runWorker(_ process: Int, client: KuraClient, keys: Int, recorder: HistoryRecorder, stop: StopFlag) async {
    var rng = SystemRandomNumberGenerator()
    var serial = 0
    var lastSeen: [Int: Int] = [:]
    while !stop.isSet {
        let k = Int.random(in: 0..<keys, using: &rng)
        let key = "k\(k)"
        serial += 1
        let fresh = process * 1_000_000 + serial
        let roll = Int.random(in: 0..<10, using: &rng)
        let input: KVModel.Input
        let request: Request
        if roll < 4 {
            input = .read(key: key)
            request = .get(key: key)
        } else if roll < 8 || lastSeen[k] == nil {
            input = .write(key: key, fresh)
            request = .put(key: key, value: String(fresh))
        } else {
            input = .cas(key: key, old: lastSeen[k]!, new: fresh)
            request = .cas(key: key, expected: String(lastSeen[k]!), value: String(fresh))
        }
        recorder.invoke(process, input)
        let result: Result<Response, any Error>
        do { result = .success(try await client.call(request)) } catch { result = .failure(error) }
        if case .some(let seen?) = recorder.complete(process, input, result) { lastSeen[k] = seen }
        try? await Task.sleep(for: .milliseconds(2))
    }
}

final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

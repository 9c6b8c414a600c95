import Linearizability
import Testing

/// The WGL search against a brute-force enumeration of orders on small random KV histories,
/// linearizable or not, with failed, unknown and unfinished operations.
@Suite struct BruteForceTests {
    /// An operation for the brute force: `end == nil` may go anywhere after `start` or nowhere;
    /// `optional` with an `end` may go within its interval or nowhere.
    struct Op {
        var input: KVModel.Input
        var output: KVModel.Output?
        var start: Int
        var end: Int?
        var optional: Bool
    }

    /// Some order respecting real time in which every required operation takes effect.
    func bruteForce(_ ops: [Op]) -> Bool {
        let model = KVModel()
        func search(_ remaining: [Op], _ state: Int?) -> Bool {
            if !remaining.contains(where: { !$0.optional }) { return true }
            // The earliest end among remaining operations: nothing invoked after it can go next.
            let deadline = remaining.compactMap(\.end).min() ?? .max
            for (i, op) in remaining.enumerated() where op.start < deadline {
                var rest = remaining
                rest.remove(at: i)
                if let next = model.step(state, op.input, op.output), search(rest, next) { return true }
                // Leaving an optional operation out is decided at its end, or never matters.
                if op.optional && op.end == deadline, search(rest, state) { return true }
            }
            return false
        }
        return search(ops, nil)
    }

    func randomEvents(seed: UInt64) -> [Event<KVModel>] {
        var random = SeededGenerator(seed: seed)
        var events: [Event<KVModel>] = []
        var pending: [Int: KVModel.Input] = [:]
        var invoked = 0
        let values: [Int?] = [nil, 0, 1, 2]
        var lastWritten: Int? = nil  // reads mostly see it, so both verdicts are common
        while invoked < 7 || !pending.isEmpty {
            let p = Int.random(in: 0..<3, using: &random)
            if let input = pending[p] {
                if Int.random(in: 0..<10, using: &random) == 0 && invoked >= 7 {
                    pending[p] = nil  // never completes
                    continue
                }
                pending[p] = nil
                switch Int.random(in: 0..<20, using: &random) {
                case 0..<2: events.append(.fail(ProcessID(p)))
                case 2..<5: events.append(.info(ProcessID(p)))
                default:
                    if case .read = input {
                        let seen = Bool.random(using: &random) ? lastWritten : values.randomElement(using: &random)!
                        events.append(.ok(ProcessID(p), .read(seen)))
                    } else {
                        events.append(.ok(ProcessID(p), .written))
                    }
                }
            } else if invoked < 7 {
                let v = values.randomElement(using: &random)!
                let input: KVModel.Input =
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0: .read(key: "x")
                    case 1: .write(key: "x", v)
                    default:
                        .cas(key: "x", old: Bool.random(using: &random) ? lastWritten : values.randomElement(using: &random)!, new: v)
                    }
                switch input {
                case .write(_, let value), .cas(_, _, let value): lastWritten = value
                case .read: break
                }
                events.append(.invoke(ProcessID(p), input))
                pending[p] = input
                invoked += 1
            }
        }
        return events
    }

    @Test(arguments: 0..<1000)
    func agreesWithBruteForce(seed: UInt64) throws {
        let history = try buildHistory(randomEvents(seed: seed))
        let ops = history.allOperations.map {
            Op(input: $0.input, output: $0.output, start: $0.invokePosition,
               end: $0.outcome == .ok ? $0.completePosition : nil, optional: $0.outcome != .ok)
        }
        let result = history.check(KVModel())
        #expect(result.isLinearizable == bruteForce(ops), "seed \(seed)")

        // The window is a proof on its own: involved results kept, context forgotten.
        guard let window = result.window else { return }
        let proof = window.operations.map { entry in
            let op = entry.operation
            let open = entry.pendingAtCut || op.outcome != .ok
            return Op(input: op.input, output: entry.involved ? op.output : nil, start: op.invokePosition,
                      end: open ? nil : op.completePosition, optional: !entry.involved)
        }
        #expect(!bruteForce(proof), "seed \(seed): the window can be linearized")
        #expect(!window.involved.isEmpty)
    }
}

// Feeds the workload's history to the Wing–Gong–Lowe checker (target Linearizability), per key.
// A client that gave up on a write continues as a new process (Jepsen's convention), because its
// abandoned write may still take effect at any later time.

import Linearizability

extension Simulation {
    /// Values are "client.request" strings; the KV model's registers hold integers.
    static func register(_ value: String?) -> Int? {
        guard let value else { return nil }
        let parts = value.split(separator: ".")
        precondition(parts.count == 2, "unexpected value \(value)")
        return Int(parts[0])! * 1_000_000 + Int(parts[1])!
    }

    static func linearizabilityHistory(_ operations: [KVOperation]) -> History<KVModel> {
        enum Event { case invoke(Int), complete(Int) }
        var events: [(position: Int, event: Event)] = []
        for (i, op) in operations.enumerated() where !op.failed {
            events.append((op.invoked, .invoke(i)))
            if let end = op.completed { events.append((end, .complete(i))) }
        }
        events.sort { $0.position < $1.position }
        var history = History<KVModel>()
        var generation: [Int: Int] = [:]
        var process: [Int: ProcessID] = [:]
        do {
            for (position, event) in events {
                switch event {
                case .invoke(let i):
                    let op = operations[i]
                    let p = ProcessID("c\(op.client).\(generation[op.client, default: 0])")
                    process[i] = p
                    if op.completed == nil { generation[op.client, default: 0] += 1 }
                    switch op.kind {
                    case .put(let key, let value): try history.invoke(process: p, .write(key: key, register(value)), position: position)
                    case .get(let key, _): try history.invoke(process: p, .read(key: key), position: position)
                    }
                case .complete(let i):
                    switch operations[i].kind {
                    case .put: try history.ok(process: process[i]!, .written, position: position)
                    case .get(_, let value): try history.ok(process: process[i]!, .read(register(value)), position: position)
                    }
                }
            }
        } catch {
            preconditionFailure("malformed simulation history: \(error)")
        }
        return history
    }

    func checkHistory(_ operations: [KVOperation]) throws(Violation) {
        let model = KVModel()
        let result = Self.linearizabilityHistory(operations).check(model, budget: CheckBudget(stepsMax: 5_000_000))
        switch result {
        case .linearizable:
            return
        case .notLinearizable(let window):
            throw Violation(property: "linearizability", detail: window.describe(model: model).joined(separator: "\n"))
        case .unknown(let undecided):
            // Not a failure: the search budget ran out. Reported in the summary.
            _ = undecided
        }
    }
}

import Linearizability

/// A model the tests can also run: the reference execution used to generate histories that are
/// linearizable by construction.
protocol ExecutableModel: Model {
    /// A random operation on partition number `partition`.
    func randomInput(partition: Int, using random: inout SeededGenerator) -> Input
    /// Runs `input` atomically; `nil` output means refused with no effect (recorded as `fail`).
    func execute(_ state: State, _ input: Input) -> (output: Output?, state: State)
    /// A result no execution can produce for `input` (used to plant a violation), if any.
    func impossibleOutput(for input: Input) -> Output?
}

/// One event of a generated history.
enum Event<M: Model> {
    case invoke(ProcessID, M.Input)
    case ok(ProcessID, M.Output)
    case fail(ProcessID)
    case info(ProcessID)
}

/// Where a simulated process is in its current operation.
enum Phase<M: Model> { case idle, invoked(M.Input), applied(M.Output?) }

/// Simulates `processes` clients against the reference execution. Each operation is invoked,
/// takes effect atomically at a random later moment, and completes later still; the random
/// interleaving of processes makes the concurrency windows. A few operations crash: before taking
/// effect (recorded `fail` or `info`) or after (`info`). Linearizable by construction.
func randomHistory<M: ExecutableModel>(
    _ model: M, operations: Int, partitions: Int, processes: Int, seed: UInt64
) -> [Event<M>] {
    var random = SeededGenerator(seed: seed)
    var states = Array(repeating: model.initialState, count: partitions)
    var slots = Array(repeating: (phase: Phase<M>.idle, partition: 0), count: processes)
    var events: [Event<M>] = []
    var invoked = 0
    func busy() -> Bool { slots.contains { if case .idle = $0.phase { false } else { true } } }
    while invoked < operations || busy() {
        let p = Int.random(in: 0..<processes, using: &random)
        let process = ProcessID(p)
        let roll = Int.random(in: 0..<100, using: &random)
        switch slots[p].phase {
        case .idle:
            guard invoked < operations else { continue }
            let partition = Int.random(in: 0..<partitions, using: &random)
            let input = model.randomInput(partition: partition, using: &random)
            events.append(.invoke(process, input))
            slots[p] = (.invoked(input), partition)
            invoked += 1
        case .invoked(let input):
            if roll < 2 {
                events.append(.fail(process))
                slots[p].phase = .idle
            } else if roll < 4 {
                events.append(.info(process))
                slots[p].phase = .idle
            } else {
                let (output, next) = model.execute(states[slots[p].partition], input)
                states[slots[p].partition] = next
                slots[p].phase = .applied(output)
            }
        case .applied(let output):
            if roll < 3 {
                events.append(.info(process))
            } else if let output {
                events.append(.ok(process, output))
            } else {
                events.append(.fail(process))
            }
            slots[p].phase = .idle
        }
    }
    return events
}

func buildHistory<M: Model>(_ events: [Event<M>]) throws -> History<M> {
    var history = History<M>()
    for event in events {
        switch event {
        case .invoke(let process, let input): try history.invoke(process: process, input)
        case .ok(let process, let output): try history.ok(process: process, output)
        case .fail(let process): try history.fail(process: process)
        case .info(let process): try history.info(process: process)
        }
    }
    return history
}

/// The history with one completed result replaced by an impossible one, or `nil` if it has none.
func plantViolation<M: ExecutableModel>(_ events: [Event<M>], model: M, seed: UInt64) -> [Event<M>]? {
    var pendingInput: [ProcessID: M.Input] = [:]
    var candidates: [(index: Int, output: M.Output)] = []
    for (i, event) in events.enumerated() {
        switch event {
        case .invoke(let process, let input): pendingInput[process] = input
        case .ok(let process, _):
            if let input = pendingInput[process], let bad = model.impossibleOutput(for: input) {
                candidates.append((i, bad))
            }
        default: break
        }
    }
    var random = SeededGenerator(seed: seed)
    guard let pick = candidates.randomElement(using: &random) else { return nil }
    var mutated = events
    guard case .ok(let process, _) = events[pick.index] else { return nil }
    mutated[pick.index] = .ok(process, pick.output)
    return mutated
}

extension KVModel: ExecutableModel {
    func randomInput(partition: Int, using random: inout SeededGenerator) -> Input {
        let key = "k\(partition)"
        let value = Int.random(in: 0..<4, using: &random)
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<4: return .read(key: key)
        case 4..<7: return .write(key: key, value)
        default:
            return .cas(key: key, old: Bool.random(using: &random) ? nil : Int.random(in: 0..<4, using: &random), new: value)
        }
    }

    func execute(_ state: Int?, _ input: Input) -> (output: Output?, state: Int?) {
        switch input {
        case .read: (.read(state), state)
        case .write(_, let value): (.written, value)
        case .cas(_, let old, let new): old == state ? (.written, new) : (nil, state)
        }
    }

    func impossibleOutput(for input: Input) -> Output? {
        if case .read = input { return .read(1_000_000) }
        return nil
    }
}

extension AssetVersionModel: ExecutableModel {
    func randomInput(partition: Int, using random: inout SeededGenerator) -> Input {
        let asset = "a\(partition)"
        if Bool.random(using: &random) { return .get(asset: asset) }
        // Versions near the front so that most publishes race for the same next version.
        let version = Int.random(in: 1...6, using: &random)
        return .publish(asset: asset, version: version, digest: Int.random(in: 0..<2, using: &random))
    }

    func execute(_ state: AssetVersion?, _ input: Input) -> (output: Output?, state: AssetVersion?) {
        switch input {
        case .get: return (.current(state), state)
        case .publish(_, let version, let digest):
            let next = AssetVersion(version: version, digest: digest)
            if next == state { return (.accepted, state) }
            return version == (state?.version ?? 0) + 1 ? (.accepted, next) : (.rejected, state)
        }
    }

    func impossibleOutput(for input: Input) -> Output? {
        if case .get = input { return .current(.init(version: 1_000, digest: 0)) }
        return nil
    }
}

extension AuthorityModel: ExecutableModel {
    func randomInput(partition: Int, using random: inout SeededGenerator) -> Input {
        let entity = "e\(partition)"
        let epoch = Int.random(in: 0...4, using: &random)
        let owner = Int.random(in: 1...3, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return .read(entity: entity)
        case 1: return .transfer(entity: entity, expectedEpoch: epoch, newOwner: owner)
        default: return .update(entity: entity, owner: owner, epoch: epoch)
        }
    }

    func execute(_ state: Authority, _ input: Input) -> (output: Output?, state: Authority) {
        switch input {
        case .read: return (.read(state), state)
        case .transfer(_, let expected, let owner):
            return expected == state.epoch
                ? (.transferred, Authority(owner: owner, epoch: state.epoch + 1)) : (.refused, state)
        case .update(_, let owner, let epoch):
            return (owner == state.owner && epoch == state.epoch ? .accepted : .refused, state)
        }
    }

    func impossibleOutput(for input: Input) -> Output? {
        if case .read = input { return .read(.init(owner: 1, epoch: 1_000)) }
        return nil
    }
}

/// The smallest evidence found that a history is not linearizable.
///
/// **What "smallest window" means exactly.** Take the first partition (in order of first
/// invocation) whose sub-history cannot be linearized. For a position `c`, its *prefix cut at c*
/// holds the operations invoked before `c`; those that completed `ok` at or before `c` keep their
/// results, those completing later count as unknown (as if the history had ended at `c`). If the
/// whole history is linearizable, so is every such prefix, so a non-linearizable prefix proves
/// the history is not linearizable. Then:
/// 1. **The window** is the prefix cut at the *earliest* `ok` completion `c` that is already
///    non-linearizable (galloping then binary search over the completion positions: the
///    property is monotone in `c`). No shorter prefix, by completion, fails.
/// 2. **The involved operations** are found within it by forgetting results, keeping each change
///    that leaves the window non-linearizable: a forgotten write or cas may take effect (between
///    its invocation and completion, as recorded) or not; a forgotten read is left out.
///    Forgetting only allows more orders, so what remains is still proof. Runs of operations are
///    tried at once and halved when that fails (as in delta debugging). The involved operations
///    are those whose results could not be forgotten — together they contradict the model; the
///    other operations of the window are *context*: taken to have taken effect or not, and still
///    no order works. No single involved operation can be forgotten on its own: the result is
///    1-minimal.
///
/// Probes that run out of steps (`probeStepsMax` each, and the check's budget in total) keep
/// their operations involved: the window may be larger than minimal, never wrong.
package struct Window<M: Model>: Sendable {
    /// The partition (key, asset, entity) that cannot be linearized.
    package let partition: M.PartitionKey
    /// The window's operations in order of invocation, unknown-outcome reads left out.
    package let operations: [WindowOperation<M>]
    /// The completion position where the window ends.
    package let cut: Int
    /// How many operations the partition has in the whole history.
    package let partitionOperationCount: Int
    /// False if narrowing ran out of steps: the window and its involved operations are still
    /// proof, but may be larger than described above.
    package let isMinimal: Bool

    /// The operations whose recorded results contradict each other.
    package var involved: [WindowOperation<M>] { operations.filter(\.involved) }
}

/// An operation of a window.
package struct WindowOperation<M: Model>: Sendable {
    package let operation: Operation<M>
    /// Its recorded result is part of the contradiction; otherwise it is context, which may
    /// have taken effect or not (see `Window`).
    package let involved: Bool
    /// It completed after the cut, so within the window its outcome counts as unknown.
    package let pendingAtCut: Bool
}

extension Window {
    /// A readable report: a heading, the involved operations, then the `contextMax` context
    /// operations nearest the cut, one line each with process, operation, result and positions. `positionName`
    /// names positions, e.g. "line" for JSON-lines files.
    package func describe(model: M, positionName: String = "position", contextMax: Int = 20) -> [String] {
        let involved = operations.filter(\.involved)
        let context = operations.filter { !$0.involved }
        let processWidth = operations.map { $0.operation.process.name.count }.max() ?? 0
        let texts = operations.map { text($0, model: model) }
        let textWidth = texts.map(\.count).max() ?? 0
        func line(_ entry: WindowOperation<M>) -> String {
            let op = entry.operation
            var timing = "invoked at \(positionName) \(op.invokePosition), "
            if let end = op.completePosition {
                timing += "completed at \(positionName) \(end)"
                if entry.pendingAtCut { timing += " (after the window)" }
            } else {
                timing += "outcome unknown"
            }
            let name = op.process.name + String(repeating: " ", count: processWidth - op.process.name.count)
            let body = text(entry, model: model)
            return "  process \(name)  \(body + String(repeating: " ", count: textWidth - body.count))  \(timing)"
        }
        var lines = [
            "\(model.describe(partition: partition)): the window up to \(positionName) \(cut) "
                + "(\(operations.count) of its \(partitionOperationCount) operations) cannot be linearized; "
                + "these \(involved.count) result(s) admit no valid order:"
        ]
        if !isMinimal {
            lines.append("  (narrowing ran out of steps: this window may be larger than the smallest)")
        }
        lines += involved.map(line)
        if !context.isEmpty {
            lines.append("  even though the window's other \(context.count) operation(s) may each have taken effect or not:")
            if context.count > contextMax {
                lines.append("  … \(context.count - contextMax) earlier ones, then:")
            }
            lines += context.suffix(contextMax).map(line)
        }
        return lines
    }

    private func text(_ entry: WindowOperation<M>, model: M) -> String {
        let op = entry.operation
        guard entry.involved, let output = op.output else { return model.describe(op.input) }
        return model.describe(op.input) + " -> " + model.describe(output)
    }
}

/// Narrows a non-linearizable partition to its window (see `Window`).
func narrowWindow<M: Model>(
    key: M.PartitionKey, operations: [Operation<M>], model: M, budget: StepBudget
) -> Window<M> {
    var budget = budget
    var relaxed = Set<Int>()
    /// One probe: is the prefix cut at `cut`, with the `relaxed` operations' results forgotten,
    /// still non-linearizable? A probe that runs out of steps counts as "no", which only ever
    /// keeps the window larger, never unsound.
    func fails(_ cut: Int, stepsMax: Int = .max) -> Bool {
        let ops = prefix(operations, cut: cut, relaxing: relaxed, model: model).map(\.search)
        let allowed = min(stepsMax, budget.remaining)
        var probe = StepBudget(stepsMax: allowed, shouldStop: budget.shouldStop)
        let verdict = searchLinearization(ops, model: model, budget: &probe)
        budget.remaining -= allowed - probe.remaining
        return verdict == .notLinearizable
    }

    // The prefix at the last ok completion fails whenever the whole history does: everything
    // invoked later has an unknown outcome and can go at the very end or be left out.
    let cuts = operations.compactMap { $0.outcome == .ok ? $0.completePosition : nil }.sorted()
    precondition(!cuts.isEmpty, "a non-linearizable partition has a completed operation")
    // Gallop from the front (short prefixes are cheap to refute), then bisect.
    var low = 0
    var high = cuts.count - 1
    var step = 1
    while low + step - 1 < high {
        if fails(cuts[low + step - 1]) {
            high = low + step - 1
            break
        }
        low += step
        step *= 2
    }
    while low < high {
        let middle = (low + high) / 2
        if fails(cuts[middle]) { high = middle } else { low = middle + 1 }
    }
    let cut = cuts[high]

    // Forget results one operation at a time, latest first, keeping each change that still fails.
    let candidates = operations.indices.filter {
        operations[$0].invokePosition < cut && operations[$0].outcome == .ok
            && operations[$0].completePosition! <= cut
    }
    // Like delta debugging: try a whole run of operations at once, halve the runs that fail.
    func relax(_ run: ArraySlice<Int>) {
        guard !run.isEmpty, budget.remaining > 0 else { return }
        relaxed.formUnion(run)
        if fails(cut, stepsMax: probeStepsMax) { return }
        relaxed.subtract(run)
        guard run.count > 1 else { return }
        let middle = run.startIndex + run.count / 2
        relax(run[..<middle])
        relax(run[middle...])
    }
    relax(candidates[...])

    let kept = prefix(operations, cut: cut, relaxing: relaxed, model: model).map {
        WindowOperation(
            operation: operations[$0.index], involved: $0.search.isRequired, pendingAtCut: $0.pendingAtCut)
    }
    return Window(
        partition: key, operations: kept, cut: cut, partitionOperationCount: operations.count,
        isMinimal: budget.remaining > 0)
}

/// Steps allowed to one relaxation probe, so that narrowing a long window stays cheap; a probe
/// that runs out keeps its operation involved.
private let probeStepsMax = 100_000

/// The prefix cut at `cut`: operations invoked before it, those completing after it (or listed
/// in `relaxing`) with their results forgotten; reads with forgotten results are left out.
private func prefix<M: Model>(_ operations: [Operation<M>], cut: Int, relaxing: Set<Int>, model: M)
    -> [(index: Int, search: SearchOperation<M>, pendingAtCut: Bool)]
{
    var result: [(index: Int, search: SearchOperation<M>, pendingAtCut: Bool)] = []
    for (i, op) in operations.enumerated() where op.invokePosition < cut {
        var search = SearchOperation<M>(op)
        var pendingAtCut = false
        if let ret = search.ret, ret > cut {
            search.ret = nil
            search.output = nil
            pendingAtCut = true
        } else if relaxing.contains(i) {
            search.skippable = true
            search.output = nil
        }
        if !search.isRequired && model.isReadOnly(op.input) { continue }
        result.append((i, search, pendingAtCut))
    }
    return result
}

/// The smallest evidence found that a history is not linearizable.
///
/// **What "smallest window" means exactly.** Take the first partition (in order of first
/// invocation) whose sub-history cannot be linearized. For a position `c`, its *prefix cut at c*
/// holds the operations invoked before `c`; those that completed `ok` at or before `c` keep their
/// results, those completing later count as unknown (as if the history had ended at `c`). If the
/// whole history is linearizable, so is every such prefix, so a non-linearizable prefix proves
/// the history is not linearizable. The window is:
/// 1. the prefix cut at the **earliest** `ok` completion `c` that is already non-linearizable
///    (binary search over the completion positions; the search is monotone in `c`), then
/// 2. with completed reads left out one at a time, in invocation order, as long as the rest
///    stays non-linearizable (a read only adds constraints, so leaving one out is sound), and
///    with unknown-outcome reads left out (they constrain nothing).
///
/// What remains cannot be linearized by itself: every write and every remaining read of the
/// partition up to the cut, all needed together. If the step budget runs out while narrowing, the
/// window stays at the last size proven non-linearizable.
package struct Window<M: Model>: Sendable {
    /// The partition (key, asset, entity) that cannot be linearized.
    package let partition: M.PartitionKey
    /// The window's operations in order of invocation.
    package let operations: [WindowOperation<M>]
    /// The completion position where the window ends.
    package let cut: Int
    /// How many operations the partition has in the whole history.
    package let partitionOperationCount: Int
}

/// An operation of a window.
package struct WindowOperation<M: Model>: Sendable {
    package let operation: Operation<M>
    /// It completed after the cut, so within the window its outcome counts as unknown.
    package let pendingAtCut: Bool
}

extension Window {
    /// A readable report: a heading, then one line per operation with its process, operation,
    /// result and positions. `positionName` names positions, e.g. "line" for JSON-lines files.
    package func describe(model: M, positionName: String = "position") -> [String] {
        var lines = [
            "\(model.describe(partition: partition)) cannot be linearized: "
                + "\(operations.count) operation(s) up to \(positionName) \(cut) "
                + "(of \(partitionOperationCount) on it) admit no valid order:"
        ]
        let processWidth = operations.map { $0.operation.process.name.count }.max() ?? 0
        let texts = operations.map { entry in
            let op = entry.operation
            let result = entry.pendingAtCut ? nil : op.output.map { " -> " + model.describe($0) }
            return model.describe(op.input) + (result ?? "")
        }
        let textWidth = texts.map(\.count).max() ?? 0
        for (entry, text) in zip(operations, texts) {
            let op = entry.operation
            var timing = "invoked at \(positionName) \(op.invokePosition), "
            if let end = op.completePosition {
                timing += "completed at \(positionName) \(end)"
                if entry.pendingAtCut { timing += " (after the cut: outcome unknown here)" }
            } else {
                timing += "outcome unknown"
            }
            lines.append(
                "  process \(pad(op.process.name, processWidth))  \(pad(text, textWidth))  \(timing)")
        }
        return lines
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}

/// Narrows a non-linearizable partition to its window (see `Window`).
func narrowWindow<M: Model>(
    key: M.PartitionKey, operations: [Operation<M>], model: M, budget: StepBudget
) -> Window<M> {
    var budget = budget
    var dropped = Set<Int>()
    func fails(_ cut: Int) -> Bool {
        let ops = prefix(operations, cut: cut, dropping: dropped).map(\.search)
        return searchLinearization(ops, model: model, budget: &budget) == .notLinearizable
    }

    // The prefix at the last ok completion fails whenever the whole history does: everything
    // invoked later has an unknown outcome and can go at the very end or be left out.
    let cuts = operations.compactMap { $0.outcome == .ok ? $0.completePosition : nil }.sorted()
    precondition(!cuts.isEmpty, "a non-linearizable partition has a completed operation")
    var low = 0
    var high = cuts.count - 1
    while low < high {
        let middle = (low + high) / 2
        if fails(cuts[middle]) { high = middle } else { low = middle + 1 }
    }
    let cut = cuts[high]

    for (i, op) in operations.enumerated()
    where op.invokePosition < cut && op.outcome == .ok && model.isReadOnly(op.input) {
        dropped.insert(i)
        if !fails(cut) { dropped.remove(i) }
    }

    let kept = prefix(operations, cut: cut, dropping: dropped)
        .filter { $0.search.ret != nil || !model.isReadOnly($0.search.input) }
        .map { WindowOperation(operation: operations[$0.index], pendingAtCut: $0.pendingAtCut) }
    return Window(
        partition: key, operations: kept, cut: cut, partitionOperationCount: operations.count)
}

/// The prefix cut at `cut`, minus the operations at indices in `dropping`.
private func prefix<M: Model>(_ operations: [Operation<M>], cut: Int, dropping: Set<Int>)
    -> [(index: Int, search: SearchOperation<M>, pendingAtCut: Bool)]
{
    var result: [(index: Int, search: SearchOperation<M>, pendingAtCut: Bool)] = []
    for (i, op) in operations.enumerated() where op.invokePosition < cut && !dropping.contains(i) {
        var search = SearchOperation<M>(op)
        var pendingAtCut = false
        if let ret = search.ret, ret > cut {
            search.ret = nil
            search.output = nil
            pendingAtCut = true
        }
        result.append((i, search, pendingAtCut))
    }
    return result
}

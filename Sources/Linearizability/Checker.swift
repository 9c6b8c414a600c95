// Linearizability: a checker of concurrent histories against sequential models.
//
//   var history = History<KVModel>()                      // events in time order
//   try history.invoke(process: 1, .write(key: "x", 1))
//   try history.ok(process: 1, .written)                  // or .fail(process:), .info(process:)
//   switch history.check(KVModel()) {                     // or checkLinearizability(_:model:budget:)
//   case .linearizable: …
//   case .notLinearizable(let window): print(window.describe(model: KVModel()).joined(separator: "\n"))
//   case .unknown(let undecided): …                       // budget ran out
//   }
//
// Search.swift holds the WGL search, Window.swift the narrowing of a violation, HistoryFile.swift
// the JSON-lines reader and CheckHistoryTool.swift the `kura-sim check-history` command's logic.

/// Limits on one check, so a pathological history ends as `.unknown` instead of running forever.
package struct CheckBudget {
    /// Search steps allowed for deciding the whole history (all partitions together). The window
    /// search after a violation gets a few times the steps the check took, at most 2,000,000. The memo table holds at most one
    /// entry per step, so this also bounds memory (roughly 100 bytes a step for small partitions);
    /// independently, one partition's search stops at about 1 GiB of memo.
    package var stepsMax: Int
    /// Polled every few thousand steps; returning `true` stops the check (a wall-clock deadline
    /// supplied by a shell — this target reads no clock).
    package var shouldStop: (() -> Bool)?

    package init(stepsMax: Int = 10_000_000, shouldStop: (() -> Bool)? = nil) {
        precondition(stepsMax > 0, "stepsMax must be positive, got \(stepsMax)")
        self.stepsMax = stepsMax
        self.shouldStop = shouldStop
    }
}

/// The verdict on a history.
package enum CheckResult<M: Model>: Sendable {
    /// Some order of the operations, each placed between its invocation and completion, obeys the
    /// model; unknown-outcome operations may be left out.
    case linearizable
    /// No such order exists. The window is the smallest evidence found; see `Window`.
    case notLinearizable(Window<M>)
    /// The budget ran out before these partitions were decided (and none was found failing).
    case unknown(undecided: [M.PartitionKey])

    package var isLinearizable: Bool {
        if case .linearizable = self { return true }
        return false
    }

    package var window: Window<M>? {
        if case .notLinearizable(let window) = self { return window }
        return nil
    }
}

extension History {
    /// Checks the history against `model`; the same as `checkLinearizability(self, model:)`.
    package func check(_ model: M, budget: CheckBudget = CheckBudget()) -> CheckResult<M> {
        checkLinearizability(self, model: model, budget: budget)
    }
}

/// Decides whether `history` is linearizable with respect to `model`.
///
/// The history is split by `model.partition(_:)` and each sub-history is searched on its own
/// (WGL with memoisation), in order of first invocation. The first failing partition stops the
/// check and is narrowed to a `Window`. Operations still in flight count as unknown.
package func checkLinearizability<M: Model>(
    _ history: History<M>, model: M, budget: CheckBudget = CheckBudget()
) -> CheckResult<M> {
    var steps = StepBudget(stepsMax: budget.stepsMax, shouldStop: budget.shouldStop)
    var undecided: [M.PartitionKey] = []
    for (key, operations) in partitions(of: history.allOperations, model: model) {
        let searchable = operations.map { SearchOperation<M>($0) }
        let before = steps.remaining
        switch searchLinearization(searchable, model: model, budget: &steps) {
        case .linearizable:
            continue
        case .exhausted:
            undecided.append(key)
        case .notLinearizable:
            let window = narrowWindow(
                key: key, operations: operations, model: model,
                budget: StepBudget(
                    stepsMax: narrowingSteps(checkSteps: before - steps.remaining, stepsMax: budget.stepsMax),
                    shouldStop: budget.shouldStop))
            return .notLinearizable(window)
        }
    }
    return undecided.isEmpty ? .linearizable : .unknown(undecided: undecided)
}

/// Steps allowed for narrowing a violation to its window: a few times what finding it took
/// (each probe re-checks a part of the same partition), at least enough for ordinary windows, at
/// most 2,000,000, so a pathological window is reported in seconds (larger, never wrong).
func narrowingSteps(checkSteps: Int, stepsMax: Int) -> Int {
    min(stepsMax, 2_000_000, max(200_000, 4 * checkSteps))
}

/// Sub-histories by partition, in order of their first invocation; each keeps invocation order.
func partitions<M: Model>(of operations: [Operation<M>], model: M)
    -> [(key: M.PartitionKey, operations: [Operation<M>])]
{
    var slot: [M.PartitionKey: Int] = [:]
    var result: [(key: M.PartitionKey, operations: [Operation<M>])] = []
    for operation in operations {
        let key = model.partition(operation.input)
        if let i = slot[key] {
            result[i].operations.append(operation)
        } else {
            slot[key] = result.count
            result.append((key, [operation]))
        }
    }
    return result
}

extension SearchOperation {
    init(_ operation: Operation<M>) {
        self.init(
            input: operation.input, output: operation.output, call: operation.invokePosition,
            ret: operation.outcome == .ok ? operation.completePosition : nil)
    }
}

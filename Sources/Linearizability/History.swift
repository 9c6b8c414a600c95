/// A client (a Jepsen "process"): at most one operation in flight at a time.
///
/// Integer and string identities share one namespace: process `1` and process `"1"` are the same.
package struct ProcessID: Hashable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral, ExpressibleByStringLiteral
{
    package let name: String

    package init(_ name: String) { self.name = name }
    package init(_ number: Int) { self.name = String(number) }
    package init(integerLiteral value: Int) { self.init(value) }
    package init(stringLiteral value: String) { self.init(value) }

    package var description: String { name }
}

/// How a completed operation ended. Failed operations are not kept: `fail` means the operation
/// certainly did not take effect, so it constrains nothing (Knossos and Porcupine drop it too).
package enum Outcome: Hashable, Sendable {
    /// It took effect, with the recorded output.
    case ok
    /// It may or may not have taken effect, at any time after its invocation (`info`, or no
    /// completion at all by the end of the history).
    case unknown
}

/// One operation of a history: an invocation matched with the next completion of its process.
package struct Operation<M: Model>: Sendable {
    package let process: ProcessID
    package let input: M.Input
    /// The recorded result; `nil` when the outcome is unknown.
    package let output: M.Output?
    package let outcome: Outcome
    /// Position of the invocation in the history, as given by the caller (a line number for
    /// JSON-lines files; 1-based event numbers by default). Positions only order events.
    package let invokePosition: Int
    /// Position of the completion; `nil` when the outcome is unknown.
    package let completePosition: Int?
}

/// Expected errors while building a history; each names the process at fault.
package enum HistoryError: Error, Hashable, Sendable {
    /// The process invoked an operation while its previous one had not completed.
    case invokeWhilePending(ProcessID)
    /// A completion (`ok`, `fail`, `info`) arrived for a process with nothing in flight.
    case completionWithoutInvoke(ProcessID)
    /// Positions must increase strictly from one event to the next.
    case positionNotIncreasing(Int)
}

/// A concurrent history, built from events appended in the order they happened.
///
/// ```swift
/// var history = History<KVModel>()
/// try history.invoke(process: 1, .write(key: "x", 1))
/// try history.invoke(process: 2, .read(key: "x"))
/// try history.ok(process: 1, .written)
/// try history.ok(process: 2, .read(1))
/// ```
/// An invocation matches the next completion of the same process. Operations still in flight when
/// the history is checked count as unknown (`info`).
package struct History<M: Model>: Sendable {
    /// Completed (`ok` or `info`) operations in order of completion.
    package private(set) var operations: [Operation<M>] = []
    /// How many operations ended in `fail` and were dropped.
    package private(set) var failedCount = 0
    private var pending: [ProcessID: (input: M.Input, position: Int)] = [:]
    private var lastPosition = 0

    package init() {}

    /// Records an invocation. `position` defaults to the next event number.
    package mutating func invoke(process: ProcessID, _ input: M.Input, position: Int? = nil)
        throws(HistoryError)
    {
        guard pending[process] == nil else { throw .invokeWhilePending(process) }
        let at = try advance(to: position)
        pending[process] = (input, at)
    }

    /// Records that the process's pending operation took effect with `output`.
    package mutating func ok(process: ProcessID, _ output: M.Output, position: Int? = nil)
        throws(HistoryError)
    {
        try complete(process: process, output: output, outcome: .ok, position: position)
    }

    /// Records that the process's pending operation certainly did not take effect; it is dropped.
    package mutating func fail(process: ProcessID, position: Int? = nil) throws(HistoryError) {
        guard pending[process] != nil else { throw .completionWithoutInvoke(process) }
        _ = try advance(to: position)
        pending[process] = nil
        failedCount += 1
    }

    /// Records that the outcome of the process's pending operation is unknown.
    package mutating func info(process: ProcessID, position: Int? = nil) throws(HistoryError) {
        try complete(process: process, output: nil, outcome: .unknown, position: position)
    }

    /// Every operation: the completed ones, then those still in flight as unknown, ordered by
    /// invocation.
    package var allOperations: [Operation<M>] {
        let inFlight = pending.map { process, call in
            Operation<M>(
                process: process, input: call.input, output: nil, outcome: .unknown,
                invokePosition: call.position, completePosition: nil)
        }
        return (operations + inFlight).sorted { $0.invokePosition < $1.invokePosition }
    }

    private mutating func complete(
        process: ProcessID, output: M.Output?, outcome: Outcome, position: Int?
    ) throws(HistoryError) {
        guard let call = pending[process] else { throw .completionWithoutInvoke(process) }
        let at = try advance(to: position)
        pending[process] = nil
        operations.append(
            Operation(
                process: process, input: call.input, output: output, outcome: outcome,
                invokePosition: call.position, completePosition: outcome == .ok ? at : nil))
    }

    private mutating func advance(to position: Int?) throws(HistoryError) -> Int {
        let next = position ?? lastPosition + 1
        guard next > lastPosition else { throw .positionNotIncreasing(next) }
        lastPosition = next
        return next
    }
}

/// One operation as the search sees it: a call position and, for operations that must be
/// linearized, a return position. Operations without a return may be linearized at any point
/// after their call, or left out (their outcome is unknown).
struct SearchOperation<M: Model> {
    var input: M.Input
    var output: M.Output?
    var call: Int
    var ret: Int?
}

enum SearchVerdict: Equatable {
    case linearizable
    case notLinearizable
    /// The step budget ran out (or the caller's stop condition fired) first.
    case exhausted
}

/// Counts search steps so a pathological history ends as "unknown" instead of running forever.
/// The stop condition is polled every 4,096 steps; it lets a shell impose a wall-clock deadline
/// without this pure target reading a clock.
struct StepBudget {
    var remaining: Int
    let shouldStop: (() -> Bool)?
    private var sincePoll = 0

    init(stepsMax: Int, shouldStop: (() -> Bool)?) {
        self.remaining = stepsMax
        self.shouldStop = shouldStop
    }

    mutating func spend() -> Bool {
        guard remaining > 0 else { return false }
        remaining -= 1
        sincePoll += 1
        if sincePoll == 4096 {
            sincePoll = 0
            if let shouldStop, shouldStop() {
                remaining = 0
                return false
            }
        }
        return true
    }
}

/// A memo entry of Lowe's WGL: which operations are linearized, and the state they led to.
/// Reaching the same pair again by another order cannot succeed where the first did not.
private struct Memo<State: Hashable>: Hashable {
    var linearized: [UInt64]
    var state: State
}

/// The Wing–Gong search with Lowe's memoisation (the "WGL" algorithm, Lowe 2017 §3) over one
/// partition. Calls and returns form a doubly linked list in time order, kept in arrays. The
/// search walks it: at a call, it tries to linearize that operation next (apply it to the model,
/// unlink its call and return, restart from the head); at a return, the operation returning
/// there was not linearized before it, so the last choice is undone. It succeeds once every
/// operation with a return is linearized; operations without one never block anything.
func searchLinearization<M: Model>(
    _ operations: [SearchOperation<M>], model: M, budget: inout StepBudget
) -> SearchVerdict {
    // An unknown-outcome read constrains nothing.
    let ops = operations.filter { $0.ret != nil || !model.isReadOnly($0.input) }
    var remaining = ops.reduce(0) { $0 + ($1.ret == nil ? 0 : 1) }
    if remaining == 0 { return .linearizable }

    var list = EventList(ops)
    var state = model.initialState
    var linearized = [UInt64](repeating: 0, count: (ops.count + 63) / 64)
    var memo = Set<Memo<M.State>>()
    var stack: [(op: Int, state: M.State)] = []
    var entry = list.first

    while remaining > 0 {
        guard budget.spend() else { return .exhausted }
        precondition(entry != list.tail, "a required return must be reached before the list ends")
        let op = list.op[entry]
        if list.isCall[entry] {
            if let next = model.step(state, ops[op].input, ops[op].output) {
                let (word, bit) = (op >> 6, UInt64(1) << UInt64(op & 63))
                linearized[word] |= bit
                if memo.insert(Memo(linearized: linearized, state: next)).inserted {
                    stack.append((op, state))
                    state = next
                    list.lift(op)
                    if ops[op].ret != nil { remaining -= 1 }
                    entry = list.first
                    continue
                }
                linearized[word] &= ~bit
            }
            entry = list.next[entry]
        } else {
            guard let top = stack.popLast() else { return .notLinearizable }
            state = top.state
            linearized[top.op >> 6] &= ~(UInt64(1) << UInt64(top.op & 63))
            list.unlift(top.op)
            if ops[top.op].ret != nil { remaining += 1 }
            entry = list.next[list.callEntry[top.op]]
        }
    }
    return .linearizable
}

/// Calls and returns in time order as a doubly linked list over arrays, with head and tail
/// sentinels. Lifting an operation unlinks its entries; unlifting relinks them (in reverse order,
/// as in dancing links), which is exact because lifts and unlifts nest like a stack.
private struct EventList {
    var next: [Int]
    var prev: [Int]
    var op: [Int]
    var isCall: [Bool]
    var callEntry: [Int]
    var returnEntry: [Int]
    let head: Int
    let tail: Int

    init<M: Model>(_ ops: [SearchOperation<M>]) {
        var events: [(position: Int, isCall: Bool, op: Int)] = []
        for (i, o) in ops.enumerated() {
            events.append((o.call, true, i))
            if let ret = o.ret { events.append((ret, false, i)) }
        }
        // At equal positions a call sorts first: treat such operations as concurrent.
        events.sort { ($0.position, $0.isCall ? 0 : 1, $0.op) < ($1.position, $1.isCall ? 0 : 1, $1.op) }
        let count = events.count
        precondition(count > 0, "the search needs at least one event")
        head = count
        tail = count + 1
        op = events.map(\.op) + [-1, -1]
        isCall = events.map(\.isCall) + [false, false]
        // Entry e links to e ± 1; the sentinels close both ends.
        next = Array(1...(count + 2))
        prev = Array(-1...count)
        next[count - 1] = tail
        next[head] = 0
        prev[0] = head
        prev[tail] = count - 1
        callEntry = Array(repeating: -1, count: ops.count)
        returnEntry = Array(repeating: -1, count: ops.count)
        for (e, event) in events.enumerated() {
            if event.isCall { callEntry[event.op] = e } else { returnEntry[event.op] = e }
        }
    }

    var first: Int { next[head] }

    mutating func lift(_ o: Int) {
        unlink(callEntry[o])
        if returnEntry[o] >= 0 { unlink(returnEntry[o]) }
    }

    mutating func unlift(_ o: Int) {
        if returnEntry[o] >= 0 { relink(returnEntry[o]) }
        relink(callEntry[o])
    }

    private mutating func unlink(_ e: Int) {
        next[prev[e]] = next[e]
        prev[next[e]] = prev[e]
    }

    private mutating func relink(_ e: Int) {
        next[prev[e]] = e
        prev[next[e]] = e
    }
}

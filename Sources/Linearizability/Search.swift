/// One operation as the search sees it: a call position and, for operations that must be
/// linearized, a return position. Operations without a return may be linearized at any point
/// after their call, or left out (their outcome is unknown). A `skippable` operation with a
/// return may be linearized between call and return, or left out (the window search forgets
/// results this way: it keeps the timing, so the search stays as cheap as for known results).
struct SearchOperation<M: Model> {
    var input: M.Input
    var output: M.Output?
    var call: Int
    var ret: Int?
    var skippable = false

    var isRequired: Bool { ret != nil && !skippable }
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

/// Lowe's memo of visited configurations, extended with dominance for unknown-outcome
/// operations. A configuration is the set of linearized operations and the state they led to.
/// Reaching one again by another order cannot succeed where the first did not (Lowe); and a
/// configuration with the same required operations and state but *more* unknown-outcome ones
/// used cannot do anything the one with fewer can't, since those may always be left out. Without
/// the second rule, k unknown writes make the search try up to 2^k subsets.
private struct MemoTable<State: Hashable> {
    private struct Key: Hashable {
        var required: [UInt64]
        var state: State
    }
    private var table: [Key: [[UInt64]]] = [:]

    /// Records the configuration; `false` if it, or one that dominates it, was seen before.
    mutating func insert(required: [UInt64], state: State, optional: [UInt64]) -> Bool {
        let key = Key(required: required, state: state)
        guard let i = table.index(forKey: key) else {
            table[key] = [optional]
            return true
        }
        for seen in table.values[i] where isSubset(seen, of: optional) { return false }
        table.values[i].append(optional)
        return true
    }

    private func isSubset(_ a: [UInt64], of b: [UInt64]) -> Bool {
        for w in a.indices where a[w] & ~b[w] != 0 { return false }
        return true
    }
}

/// A set of small integers as words of bits.
private struct BitSet {
    var words: [UInt64]
    init(count: Int) { words = Array(repeating: 0, count: (count + 63) / 64) }
    mutating func insert(_ i: Int) { words[i >> 6] |= UInt64(1) << UInt64(i & 63) }
    mutating func remove(_ i: Int) { words[i >> 6] &= ~(UInt64(1) << UInt64(i & 63)) }
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
    let ops = operations.filter { $0.isRequired || !model.isReadOnly($0.input) }
    // Operations with a return are decided (linearized or skipped) by the time the scan passes
    // their return: their bits form one set, memoised exactly. Operations without a return stay
    // open to the end: their bits form another, memoised with dominance.
    var slot: [Int] = []
    var decidedCount = 0
    var openCount = 0
    for o in ops {
        if o.ret != nil { slot.append(decidedCount); decidedCount += 1 }
        else { slot.append(openCount); openCount += 1 }
    }
    var remaining = ops.reduce(0) { $0 + ($1.isRequired ? 1 : 0) }
    if remaining == 0 { return .linearizable }

    var list = EventList(ops)
    var state = model.initialState
    var decided = BitSet(count: decidedCount)
    var used = BitSet(count: openCount)
    var memo = MemoTable<M.State>()
    _ = memo.insert(required: decided.words, state: state, optional: used.words)
    var stack: [(op: Int, state: M.State, skipped: Bool)] = []
    var entry = list.first

    func mark(_ op: Int, _ on: Bool) {
        switch (ops[op].ret != nil, on) {
        case (true, true): decided.insert(slot[op])
        case (true, false): decided.remove(slot[op])
        case (false, true): used.insert(slot[op])
        case (false, false): used.remove(slot[op])
        }
    }

    while remaining > 0 {
        guard budget.spend() else { return .exhausted }
        precondition(entry != list.tail, "a required return must be reached before the list ends")
        let op = list.op[entry]
        let isCall = list.isCall[entry]
        // At a call, try to linearize the operation; at a skippable return, try to leave it out.
        let next = isCall ? model.step(state, ops[op].input, ops[op].output) : ops[op].skippable ? state : nil
        if let next {
            mark(op, true)
            if memo.insert(required: decided.words, state: next, optional: used.words) {
                stack.append((op, state, !isCall))
                state = next
                list.lift(op)
                if isCall && ops[op].isRequired { remaining -= 1 }
                entry = list.first
                continue
            }
            mark(op, false)
        }
        if isCall {
            entry = list.next[entry]
            continue
        }
        // A return of an operation not linearized before it: undo the last linearization, and
        // the skips made since (they were forced by it).
        while let top = stack.last, top.skipped {
            stack.removeLast()
            mark(top.op, false)
            list.unlift(top.op)
        }
        guard let top = stack.popLast() else { return .notLinearizable }
        state = top.state
        mark(top.op, false)
        if ops[top.op].isRequired { remaining += 1 }
        list.unlift(top.op)
        entry = list.next[list.callEntry[top.op]]
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

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
/// operations. A configuration is the set of decided operations, the set of used open ones (no
/// return: unknown outcome), and the state they led to. Reaching one again by another order
/// cannot succeed where the first did not (Lowe). And a configuration with the same decided
/// operations and state but *more* open ones used cannot do anything the one with fewer can't,
/// since open operations may always be left out; this is checked against the few most recent
/// such configurations only, which keeps each step cheap (pruning less is still exact).
private struct MemoTable<State: Hashable> {
    /// Bit sets hashed incrementally (Zobrist): equality still compares the words.
    private struct Key: Hashable {
        var hash: UInt64
        var decided: [UInt64]
        var state: State
        func hash(into hasher: inout Hasher) {
            hasher.combine(hash)
            hasher.combine(state)
        }
        static func == (a: Key, b: Key) -> Bool {
            a.hash == b.hash && a.state == b.state && a.decided == b.decided
        }
    }
    private struct Full: Hashable {
        var key: Key
        var usedHash: UInt64
        var used: [UInt64]
        func hash(into hasher: inout Hasher) {
            hasher.combine(key)
            hasher.combine(usedHash)
        }
        static func == (a: Full, b: Full) -> Bool {
            a.usedHash == b.usedHash && a.key == b.key && a.used == b.used
        }
    }
    private var exact = Set<Full>()
    /// A rough count of the bytes held, so a huge partition ends as "unknown" before it
    /// exhausts memory (one bit set per entry: large partitions make large entries).
    private(set) var bytes = 0
    private var recent: [Key: [[UInt64]]] = [:]
    private let hasOpen: Bool
    private static var recentMax: Int { 16 }

    init(hasOpen: Bool) { self.hasOpen = hasOpen }

    /// Records the configuration; `false` if it, or one that dominates it, was seen before.
    mutating func insert(decided: BitSet, state: State, used: BitSet) -> Bool {
        let key = Key(hash: decided.hash, decided: decided.words, state: state)
        guard exact.insert(Full(key: key, usedHash: used.hash, used: used.words)).inserted else {
            return false
        }
        bytes += 96 + 8 * (decided.words.count + used.words.count)
        guard hasOpen else { return true }
        if let i = recent.index(forKey: key) {
            for seen in recent.values[i] where isSubset(seen, of: used.words) { return false }
            if recent.values[i].count == Self.recentMax { recent.values[i].removeFirst() }
            recent.values[i].append(used.words)
        } else {
            recent[key] = [used.words]
        }
        return true
    }

    private func isSubset(_ a: [UInt64], of b: [UInt64]) -> Bool {
        for w in a.indices where a[w] & ~b[w] != 0 { return false }
        return true
    }
}

/// The memo size at which a search gives up (as if out of steps).
let memoBytesMax = 1 << 30

/// A set of small integers as words of bits, with an incremental Zobrist hash.
struct BitSet {
    private(set) var words: [UInt64]
    private(set) var hash: UInt64 = 0
    init(count: Int) { words = Array(repeating: 0, count: (count + 63) / 64) }

    mutating func insert(_ i: Int) {
        precondition(!contains(i), "bit \(i) already set")
        words[i >> 6] |= UInt64(1) << UInt64(i & 63)
        hash ^= Self.zobrist(i)
    }

    mutating func remove(_ i: Int) {
        precondition(contains(i), "bit \(i) not set")
        words[i >> 6] &= ~(UInt64(1) << UInt64(i & 63))
        hash ^= Self.zobrist(i)
    }

    func contains(_ i: Int) -> Bool { words[i >> 6] & (UInt64(1) << UInt64(i & 63)) != 0 }

    /// A fixed pseudo-random word per element (SplitMix64 finaliser).
    private static func zobrist(_ i: Int) -> UInt64 {
        var z = UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15 &+ 0x6A09_E667_F3BC_C909
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The Wing–Gong search with Lowe's memoisation (the "WGL" algorithm, Lowe 2017 §3) over one
/// partition. Calls and returns form a doubly linked list in time order, kept in arrays. The
/// search walks it: at a call, it tries to linearize that operation next (apply it to the model,
/// unlink its call and return, restart from the head); at a return, the operation returning
/// there was not linearized before it, so the last choice is undone — unless the operation is
/// skippable, which is then left out. It succeeds once every required operation is linearized;
/// operations without a return never block anything.
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
    let twin = earlierTwins(ops)

    var list = EventList(ops)
    var state = model.initialState
    var decided = BitSet(count: decidedCount)
    var used = BitSet(count: openCount)
    var memo = MemoTable<M.State>(hasOpen: openCount > 0)
    _ = memo.insert(decided: decided, state: state, used: used)
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

    func isUsed(_ op: Int) -> Bool { used.contains(slot[op]) }

    while remaining > 0 {
        guard budget.spend(), memo.bytes <= memoBytesMax else { return .exhausted }
        precondition(entry != list.tail, "a required return must be reached before the list ends")
        let op = list.op[entry]
        let isCall = list.isCall[entry]
        // At a call, try to linearize the operation; at a skippable return, try to leave it out.
        // Of open twins, the earlier goes first (see `earlierTwins`).
        let next: M.State?
        if isCall {
            let blocked = twin[op] >= 0 && !isUsed(twin[op])
            next = blocked ? nil : model.step(state, ops[op].input, ops[op].output)
        } else {
            next = ops[op].skippable ? state : nil
        }
        if let next {
            mark(op, true)
            if memo.insert(decided: decided, state: next, used: used) {
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

/// For each operation without a return, the latest operation invoked before it that also has
/// none and the same input; -1 if none. Once both are invoked, such twins are interchangeable, so
/// the search uses the earlier one first: a linearization using the later one while the earlier
/// stays unused stays valid with the two swapped. Without this symmetry cut, k interchangeable
/// unknown writes multiply the configurations by up to 2^k.
private func earlierTwins<M: Model>(_ ops: [SearchOperation<M>]) -> [Int] {
    var twin = Array(repeating: -1, count: ops.count)
    var latest: [M.Input: Int] = [:]
    for i in ops.indices.sorted(by: { ops[$0].call < ops[$1].call }) where ops[i].ret == nil {
        precondition(ops[i].output == nil, "an operation without a return has no known output")
        twin[i] = latest[ops[i].input] ?? -1
        latest[ops[i].input] = i
    }
    return twin
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

// A hash secondary index: value → the slots of the records holding it. Buckets stay small arrays
// until they grow past `setThreshold`, then become sets, so low-cardinality columns (a flag, a
// zone with half the table in it) keep O(1) removal.

enum SlotBucket: Sendable {
    static var setThreshold: Int { 32 }

    case one(Int32)
    case few(ContiguousArray<Int32>)
    case many(Set<Int32>)

    var count: Int {
        switch self {
        case .one: 1
        case .few(let slots): slots.count
        case .many(let slots): slots.count
        }
    }

    var first: Int32 {
        switch self {
        case .one(let slot): slot
        case .few(let slots): slots[0]
        case .many(let slots): slots.first!
        }
    }

    func withSlots<R>(_ body: (UnsafeBufferPointer<Int32>) -> R) -> R {
        switch self {
        case .one(var slot): return withUnsafePointer(to: &slot) { body(UnsafeBufferPointer(start: $0, count: 1)) }
        case .few(let slots): return slots.withUnsafeBufferPointer(body)
        case .many(let slots): return ContiguousArray(slots).withUnsafeBufferPointer(body)
        }
    }

    func forEach(_ body: (Int32) -> Bool) {
        switch self {
        case .one(let slot): _ = body(slot)
        case .few(let slots): for slot in slots where !body(slot) { return }
        case .many(let slots): for slot in slots where !body(slot) { return }
        }
    }

    mutating func insert(_ slot: Int32) {
        switch self {
        case .one(let existing):
            self = .few([existing, slot])
        case .few(var slots):
            self = .one(-1)  // drop the payload's second reference so `slots` mutates in place
            if slots.count < Self.setThreshold {
                slots.append(slot)
                self = .few(slots)
            } else {
                var set = Set(slots)
                set.insert(slot)
                self = .many(set)
            }
        case .many(var slots):
            self = .one(-1)
            slots.insert(slot)
            self = .many(slots)
        }
    }

    /// Removes `slot`; returns false when the bucket is now empty.
    mutating func remove(_ slot: Int32) -> Bool {
        switch self {
        case .one(let existing):
            precondition(existing == slot, "hash index bucket holds slot \(existing), not \(slot)")
            return false
        case .few(var slots):
            self = .one(-1)
            let i = slots.firstIndex(of: slot)!
            slots.swapAt(i, slots.count - 1)
            slots.removeLast()
            self = slots.count == 1 ? .one(slots[0]) : .few(slots)
            return true
        case .many(var slots):
            self = .one(-1)
            slots.remove(slot)
            self = .many(slots)
            return true
        }
    }
}

struct HashIndex: Sendable {
    private(set) var buckets: [IndexValue: SlotBucket] = [:]

    func bucket(_ value: IndexValue) -> SlotBucket? { buckets[value] }

    mutating func insert(_ value: IndexValue, _ slot: Int32) {
        if let i = buckets.index(forKey: value) {
            buckets.values[i].insert(slot)
        } else {
            buckets[value] = .one(slot)
        }
    }

    mutating func remove(_ value: IndexValue, _ slot: Int32) {
        guard let i = buckets.index(forKey: value) else {
            preconditionFailure("hash index has no bucket for \(value) (slot \(slot))")
        }
        if !buckets.values[i].remove(slot) { buckets.remove(at: i) }
    }
}

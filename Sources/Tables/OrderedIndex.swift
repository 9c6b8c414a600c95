// An ordered secondary index: entries sorted by (value, primary key), stored as a list of short
// sorted leaves plus an array of each leaf's first entry — a two-level B+tree. An insert is two
// binary searches and a memmove of at most `leafCapacity` entries (a flat sorted array would move
// half a million entries at 1M rows); a range scan walks contiguous leaves.
//
// Every entry also has an 8-byte order-preserving prefix of its value, kept in parallel arrays:
// searches first narrow on the dense prefixes (five entries per cache line fewer misses) and
// compare whole entries only among equal prefixes.

struct OrderedEntry<Key: Comparable & Sendable>: Sendable {
    var value: IndexValue
    var key: Key
    var slot: Int32

    @inline(__always)
    func precedes(_ value: IndexValue, _ key: Key) -> Bool {
        self.value < value || (self.value == value && self.key < key)
    }
}

extension IndexValue {
    /// a < b implies a.orderPrefix <= b.orderPrefix: the rank in the top 3 bits, then the value's
    /// top bits (integers) or nothing (strings, which always fall back to a full comparison).
    @inline(__always)
    var orderPrefix: UInt64 {
        switch self {
        case .null: 0
        case .bool(let v): 1 << 61 | (v ? 1 : 0)
        case .int(let v): 2 << 61 | (UInt64(bitPattern: v) ^ (1 << 63)) >> 3
        case .uint(let v): 3 << 61 | v >> 3
        case .string: 4 << 61
        }
    }
}

/// A position in an ordered index: leaf number and offset inside it.
struct OrderedPosition: Equatable, Sendable {
    var leaf: Int
    var offset: Int
}

struct OrderedLeaf<Key: Comparable & Sendable>: Sendable {
    var prefixes: ContiguousArray<UInt64> = []
    var entries: ContiguousArray<OrderedEntry<Key>> = []

    var count: Int { entries.count }

    mutating func insert(_ entry: OrderedEntry<Key>, _ prefix: UInt64, at offset: Int) {
        entries.shiftInsert(entry, at: offset)
        prefixes.shiftInsert(prefix, at: offset)
    }

    mutating func remove(at offset: Int) {
        entries.shiftRemove(at: offset)
        prefixes.shiftRemove(at: offset)
    }

    /// The first offset at or after `start` whose entry lies past `upper` (`count` if none):
    /// a binary search on the dense prefixes, then whole values only among equal prefixes.
    func end(from start: Int, before upper: Bound?) -> Int {
        guard let upper else { return count }
        let last = upper.value.orderPrefix
        return prefixes.withUnsafeBufferPointer { prefixes in
            var low = start
            var high = prefixes.count
            while low < high {  // first prefix >= last: every entry before it is below `upper`
                let mid = (low + high) >> 1
                if prefixes[mid] < last { low = mid + 1 } else { high = mid }
            }
            while low < prefixes.count && prefixes[low] == last {
                let value = entries[low].value
                if upper.inclusive ? upper.value < value : upper.value <= value { break }
                low += 1
            }
            return low
        }
    }
}

extension ContiguousArray {
    /// `insert(_:at:)` as an append and one memmove; the general path (`replaceSubrange`) cost
    /// several hundred instructions per call here.
    @inline(__always)
    mutating func shiftInsert(_ element: Element, at offset: Int) {
        append(element)
        let last = count - 1
        guard offset < last else { return }
        withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            let moved = (base + last).move()
            (base + offset + 1).moveInitialize(from: base + offset, count: last - offset)  // overlapping: a memmove
            (base + offset).initialize(to: moved)
        }
    }

    /// `remove(at:)` as one memmove and a `removeLast`.
    @inline(__always)
    mutating func shiftRemove(at offset: Int) {
        let last = count - 1
        if offset < last {
            withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                let removed = (base + offset).move()
                (base + offset).moveInitialize(from: base + offset + 1, count: last - offset)
                (base + last).initialize(to: removed)
            }
        }
        removeLast()
    }
}

/// In `prefixes[range]` (sorted) and the matching entries, the first index whose entry satisfies
/// `isAtOrAfter`, given that entries with a prefix below `prefix` do not and those above do.
@inline(__always)
private func search<Key>(
    _ prefixes: UnsafeBufferPointer<UInt64>, _ entries: UnsafeBufferPointer<OrderedEntry<Key>>, from start: Int,
    prefix: UInt64, _ isAtOrAfter: (borrowing OrderedEntry<Key>) -> Bool
) -> Int {
    var low = start
    var high = prefixes.count
    while low < high {  // first prefix >= prefix
        let mid = (low + high) >> 1
        if prefixes[mid] < prefix { low = mid + 1 } else { high = mid }
    }
    var end = low
    high = prefixes.count
    while end < high {  // first prefix > prefix
        let mid = (end + high) >> 1
        if prefixes[mid] <= prefix { end = mid + 1 } else { high = mid }
    }
    while low < end {  // among equal prefixes, compare whole entries
        let mid = (low + end) >> 1
        if isAtOrAfter(entries[mid]) { end = mid } else { low = mid + 1 }
    }
    return low
}

struct OrderedIndex<Key: Comparable & Sendable>: Sendable {
    static var leafCapacity: Int { 64 }

    private(set) var leaves: [OrderedLeaf<Key>] = []
    /// `firsts[i]` is the first entry of `leaves[i]`, kept apart so the top-level search stays in
    /// two dense arrays.
    private var firsts: ContiguousArray<OrderedEntry<Key>> = []
    private var firstPrefixes: ContiguousArray<UInt64> = []
    private(set) var count = 0

    /// The first position whose entry satisfies `isAtOrAfter`, a predicate that is false, then
    /// true along the index order, false for every value whose prefix is below `prefix` and true
    /// for every value whose prefix is above it.
    @inline(__always)
    func partitionPoint(prefix: UInt64, _ isAtOrAfter: (borrowing OrderedEntry<Key>) -> Bool) -> OrderedPosition {
        // First leaf whose first entry is at or after the target; the target may begin in the leaf before.
        let low = firstPrefixes.withUnsafeBufferPointer { prefixes in
            firsts.withUnsafeBufferPointer { search(prefixes, $0, from: 0, prefix: prefix, isAtOrAfter) }
        }
        if low == 0 { return OrderedPosition(leaf: 0, offset: 0) }
        let leaf = low - 1
        let offset = leaves[leaf].prefixes.withUnsafeBufferPointer { prefixes in
            leaves[leaf].entries.withUnsafeBufferPointer { search(prefixes, $0, from: 1, prefix: prefix, isAtOrAfter) }
        }
        return offset == leaves[leaf].count ? OrderedPosition(leaf: low, offset: 0) : OrderedPosition(leaf: leaf, offset: offset)
    }

    /// Starts loading the prefixes of the leaf where `value` would sit, which the leaf's binary
    /// search reads one dependent line at a time otherwise. The leaf is found on prefixes
    /// alone (with equal prefixes it may be a later one than the search picks): only a hint.
    @inline(__always)
    func prefetchLeaf(of value: IndexValue) {
        let prefix = value.orderPrefix
        let leaf = firstPrefixes.withUnsafeBufferPointer { prefixes -> Int in
            var low = 0
            var high = prefixes.count
            while low < high {  // first leaf starting above `prefix`
                let mid = (low + high) >> 1
                if prefixes[mid] <= prefix { low = mid + 1 } else { high = mid }
            }
            return low - 1
        }
        guard leaf >= 0 else { return }
        leaves[leaf].prefixes.withUnsafeBufferPointer { prefixes in
            let base = UnsafeRawPointer(prefixes.baseAddress!)
            let bytes = prefixes.count * MemoryLayout<UInt64>.stride
            var offset = 0
            while offset < bytes {
                prefetch(base + offset)
                offset += 64
            }
        }
    }

    /// The first entry at or after (value, key).
    @inline(__always)
    func position(of value: IndexValue, _ key: Key) -> OrderedPosition {
        partitionPoint(prefix: value.orderPrefix) { !$0.precedes(value, key) }
    }

    func entry(at position: OrderedPosition) -> OrderedEntry<Key>? {
        guard position.leaf < leaves.count, position.offset < leaves[position.leaf].count else { return nil }
        return leaves[position.leaf].entries[position.offset]
    }

    mutating func insert(_ entry: OrderedEntry<Key>) {
        count += 1
        let prefix = entry.value.orderPrefix
        if leaves.isEmpty {
            leaves.append(OrderedLeaf(prefixes: [prefix], entries: [entry]))
            firsts.append(entry)
            firstPrefixes.append(prefix)
            return
        }
        let position = position(of: entry.value, entry.key)
        // Append to the end of the previous leaf rather than open the next one at offset 0.
        var leaf = position.leaf
        var offset = position.offset
        if offset == 0 && leaf > 0 {
            leaf -= 1
            offset = leaves[leaf].count
        }
        leaves[leaf].insert(entry, prefix, at: offset)
        if offset == 0 {
            firsts[leaf] = entry
            firstPrefixes[leaf] = prefix
        }
        if leaves[leaf].count > Self.leafCapacity { split(leaf) }
    }

    private mutating func split(_ leaf: Int) {
        let half = leaves[leaf].count / 2
        let upper = OrderedLeaf(prefixes: ContiguousArray(leaves[leaf].prefixes[half...]),
                                entries: ContiguousArray(leaves[leaf].entries[half...]))
        leaves[leaf].prefixes.removeSubrange(half...)
        leaves[leaf].entries.removeSubrange(half...)
        leaves.insert(upper, at: leaf + 1)
        firsts.insert(upper.entries[0], at: leaf + 1)
        firstPrefixes.insert(upper.prefixes[0], at: leaf + 1)
    }

    /// Removes the entry for (value, key); returns false if it was not there.
    @discardableResult
    mutating func remove(_ value: IndexValue, _ key: Key) -> Bool {
        let position = position(of: value, key)
        guard let found = entry(at: position), found.value == value, found.key == key else { return false }
        count -= 1
        let leaf = position.leaf
        leaves[leaf].remove(at: position.offset)
        if leaves[leaf].count == 0 {
            leaves.remove(at: leaf)
            firsts.remove(at: leaf)
            firstPrefixes.remove(at: leaf)
        } else if position.offset == 0 {
            firsts[leaf] = leaves[leaf].entries[0]
            firstPrefixes[leaf] = leaves[leaf].prefixes[0]
        } else if leaves[leaf].count < Self.leafCapacity / 4 {
            mergeIfSmall(leaf)
        }
        return true
    }

    /// Keeps leaves from thinning out after many removals: joins a small leaf with its successor.
    private mutating func mergeIfSmall(_ leaf: Int) {
        let next = leaf + 1
        guard next < leaves.count, leaves[leaf].count + leaves[next].count <= Self.leafCapacity / 2 else { return }
        let moved = leaves[next]
        leaves[leaf].entries.append(contentsOf: moved.entries)
        leaves[leaf].prefixes.append(contentsOf: moved.prefixes)
        leaves.remove(at: next)
        firsts.remove(at: next)
        firstPrefixes.remove(at: next)
    }

    /// Visits entries strictly before `end`, backward; stops when `body` returns false.
    func forEachReversed(before end: OrderedPosition, _ body: (OrderedEntry<Key>) -> Bool) {
        var leaf = min(end.leaf, leaves.count)
        var offset = leaf < leaves.count ? end.offset : 0
        while true {
            if offset == 0 {
                if leaf == 0 { return }
                leaf -= 1
                offset = leaves[leaf].count
            }
            let done = leaves[leaf].entries.withUnsafeBufferPointer { buffer -> Bool in
                var i = offset - 1
                while i >= 0 {
                    if !body(buffer[i]) { return true }
                    i -= 1
                }
                return false
            }
            if done { return }
            offset = 0
        }
    }

    var endPosition: OrderedPosition { OrderedPosition(leaf: leaves.count, offset: 0) }

    /// Checks the structure: leaves sorted and non-empty, prefixes and `firsts` in step, count right.
    func checkInvariants() -> Bool {
        var total = 0
        var previous: OrderedEntry<Key>?
        guard firsts.count == leaves.count, firstPrefixes.count == leaves.count else { return false }
        for (i, leaf) in leaves.enumerated() {
            guard leaf.count > 0, leaf.count <= Self.leafCapacity, leaf.prefixes.count == leaf.count,
                firsts[i].key == leaf.entries[0].key, firstPrefixes[i] == leaf.prefixes[0]
            else { return false }
            for (entry, prefix) in zip(leaf.entries, leaf.prefixes) {
                if let p = previous, !p.precedes(entry.value, entry.key) { return false }
                if prefix != entry.value.orderPrefix { return false }
                previous = entry
            }
            total += leaf.count
        }
        return total == count
    }
}

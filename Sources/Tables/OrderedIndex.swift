// An ordered secondary index: entries sorted by (value, primary key), stored as a list of short
// sorted leaves plus an array of each leaf's first entry — a two-level B+tree. An insert is two
// binary searches and a memmove of at most `leafCapacity` entries (a flat sorted array would move
// half a million entries at 1M rows); a range scan walks contiguous leaves.

struct OrderedEntry<Key: Comparable & Sendable>: Sendable {
    var value: IndexValue
    var key: Key
    var slot: Int32

    @inline(__always)
    func precedes(_ value: IndexValue, _ key: Key) -> Bool {
        self.value < value || (self.value == value && self.key < key)
    }
}

/// A position in an ordered index: leaf number and offset inside it.
struct OrderedPosition: Equatable, Sendable {
    var leaf: Int
    var offset: Int
}

struct OrderedIndex<Key: Comparable & Sendable>: Sendable {
    static var leafCapacity: Int { 128 }

    private(set) var leaves: [ContiguousArray<OrderedEntry<Key>>] = []
    /// `firsts[i]` is `leaves[i][0]`, kept apart so the top-level search stays in one array.
    private var firsts: ContiguousArray<OrderedEntry<Key>> = []
    private(set) var count = 0

    /// The first position whose entry satisfies `isAtOrAfter`, a predicate that is false, then
    /// true along the index order.
    func partitionPoint(_ isAtOrAfter: (borrowing OrderedEntry<Key>) -> Bool) -> OrderedPosition {
        // First leaf whose first entry is at or after the target; the target may begin in the leaf before.
        // Searches run over unsafe buffers so entries are compared in place, not copied out.
        let low = firsts.withUnsafeBufferPointer { firsts in
            var low = 0
            var high = firsts.count
            while low < high {
                let mid = (low + high) >> 1
                if isAtOrAfter(firsts[mid]) { high = mid } else { low = mid + 1 }
            }
            return low
        }
        if low == 0 { return OrderedPosition(leaf: 0, offset: 0) }
        let leaf = low - 1
        let offset = leaves[leaf].withUnsafeBufferPointer { entries in
            var l = 1
            var h = entries.count
            while l < h {
                let mid = (l + h) >> 1
                if isAtOrAfter(entries[mid]) { h = mid } else { l = mid + 1 }
            }
            return l == entries.count ? -1 : l
        }
        return offset < 0 ? OrderedPosition(leaf: low, offset: 0) : OrderedPosition(leaf: leaf, offset: offset)
    }

    func entry(at position: OrderedPosition) -> OrderedEntry<Key>? {
        guard position.leaf < leaves.count, position.offset < leaves[position.leaf].count else { return nil }
        return leaves[position.leaf][position.offset]
    }

    mutating func insert(_ entry: OrderedEntry<Key>) {
        count += 1
        if leaves.isEmpty {
            leaves.append([entry])
            firsts.append(entry)
            return
        }
        let position = partitionPoint { !$0.precedes(entry.value, entry.key) }
        // Append to the end of the previous leaf rather than open the next one at offset 0.
        var leaf = position.leaf
        var offset = position.offset
        if offset == 0 && leaf > 0 {
            leaf -= 1
            offset = leaves[leaf].count
        }
        leaves[leaf].insert(entry, at: offset)
        if offset == 0 { firsts[leaf] = entry }
        if leaves[leaf].count > Self.leafCapacity { split(leaf) }
    }

    private mutating func split(_ leaf: Int) {
        let half = leaves[leaf].count / 2
        let upper = ContiguousArray(leaves[leaf][half...])
        leaves[leaf].removeSubrange(half...)
        leaves.insert(upper, at: leaf + 1)
        firsts.insert(upper[0], at: leaf + 1)
    }

    /// Removes the entry for (value, key); returns false if it was not there.
    @discardableResult
    mutating func remove(_ value: IndexValue, _ key: Key) -> Bool {
        let position = partitionPoint { !$0.precedes(value, key) }
        guard let found = entry(at: position), found.value == value, found.key == key else { return false }
        count -= 1
        leaves[position.leaf].remove(at: position.offset)
        if leaves[position.leaf].isEmpty {
            leaves.remove(at: position.leaf)
            firsts.remove(at: position.leaf)
        } else if position.offset == 0 {
            firsts[position.leaf] = leaves[position.leaf][0]
        } else if leaves[position.leaf].count < Self.leafCapacity / 4 {
            mergeIfSmall(position.leaf)
        }
        return true
    }

    /// Keeps leaves from thinning out after many removals: joins a small leaf with its successor.
    private mutating func mergeIfSmall(_ leaf: Int) {
        let next = leaf + 1
        guard next < leaves.count, leaves[leaf].count + leaves[next].count <= Self.leafCapacity / 2 else { return }
        let moved = leaves[next]
        leaves[leaf].append(contentsOf: moved)
        leaves.remove(at: next)
        firsts.remove(at: next)
    }

    /// Hands `body` the rest of each leaf from `start` on, in order; stops when it returns false.
    func forEachRun(from start: OrderedPosition, _ body: (UnsafeBufferPointer<OrderedEntry<Key>>) -> Bool) {
        var leaf = start.leaf
        var offset = start.offset
        while leaf < leaves.count {
            let going = leaves[leaf].withUnsafeBufferPointer { buffer in
                body(UnsafeBufferPointer(rebasing: buffer[offset...]))
            }
            if !going { return }
            leaf += 1
            offset = 0
        }
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
            let done = leaves[leaf].withUnsafeBufferPointer { buffer -> Bool in
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

    /// Checks the structure: leaves sorted and non-empty, `firsts` in step, count right.
    func checkInvariants() -> Bool {
        var total = 0
        var previous: OrderedEntry<Key>?
        guard firsts.count == leaves.count else { return false }
        for (i, leaf) in leaves.enumerated() {
            guard !leaf.isEmpty, leaf.count <= Self.leafCapacity, firsts[i].key == leaf[0].key else { return false }
            for entry in leaf {
                if let p = previous, !p.precedes(entry.value, entry.key) { return false }
                previous = entry
            }
            total += leaf.count
        }
        return total == count
    }
}

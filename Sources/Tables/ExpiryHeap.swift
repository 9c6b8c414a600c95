// A min-heap of (expiry, key) so the sweeper finds due records without scanning the table.
// Entries go stale when a record is rewritten or deleted; the sweeper checks each popped entry
// against the record and skips stale ones, and the heap is rebuilt when stale ones dominate.

struct ExpiryHeap<Key: Sendable>: Sendable {
    private(set) var items: ContiguousArray<(expiry: Int64, key: Key)> = []

    var count: Int { items.count }
    var minimum: Int64? { items.first?.expiry }

    mutating func push(_ expiry: Int64, _ key: Key) {
        items.append((expiry, key))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].expiry < items[parent].expiry else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (expiry: Int64, key: Key)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left].expiry < items[smallest].expiry { smallest = left }
            if right < items.count && items[right].expiry < items[smallest].expiry { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    /// Rebuilds from the entries `keep` accepts.
    mutating func rebuild(keeping keep: (Int64, Key) -> Bool) {
        let old = items
        items = []
        for item in old where keep(item.expiry, item.key) { push(item.expiry, item.key) }
    }
}

// An ordered secondary index: entries sorted by (value, primary key), in leaves of at most 64, a
// B+tree of three levels laid out in flat arrays.
//
// Leaves live in pools (one array per field; leaf `id` owns positions id·64 ..< id·64 + 64), so a
// leaf's address is arithmetic on its id: it can be prefetched before it is read, where a leaf
// that is its own heap object costs a dependent miss on the object before its first entry. Above
// the leaves, `order` lists leaf ids in key order beside each leaf's first word, and `samples`
// keeps every 64th of those words: a few KiB that stay in cache, so a search is samples →
// one 512-byte block of first words → one leaf.
//
// Entries are compared on a 64-bit order-preserving word first. While every value is an integer
// (the common case) the word *is* the value, and the `values` pool is not kept at all: an entry is
// word, slot and key. The first other value switches the index to prefix words with full values
// beside them (`leaveExactMode`).

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

extension IndexValue {
    @inline(__always)
    var isInt: Bool { if case .int = self { true } else { false } }
}

/// A position in an ordered index: a leaf's rank in key order and an offset inside it.
struct OrderedPosition: Equatable, Sendable {
    var leaf: Int
    var offset: Int
}

struct OrderedIndex<Key: Comparable & Sendable>: Sendable {
    static var leafCapacity: Int { 64 }
    /// First words per sample.
    static var blockSize: Int { 64 }

    /// Leaf pools by position (leaf id · capacity + offset); positions past a leaf's size hold fillers.
    private(set) var words: ContiguousArray<UInt64> = []
    private(set) var slots: ContiguousArray<Int32> = []
    private(set) var keys: ContiguousArray<Key> = []
    /// Full values by position, kept only once the index has left exact mode.
    private(set) var values: ContiguousArray<IndexValue> = []
    /// Entries per leaf id.
    private(set) var sizes: ContiguousArray<Int32> = []
    private(set) var freeIDs: [Int32] = []
    /// Leaf ids in key order, with each leaf's first word.
    private(set) var order: ContiguousArray<Int32> = []
    private(set) var firstWords: ContiguousArray<UInt64> = []
    /// `firstWords[k * blockSize]` for every k.
    private(set) var samples: ContiguousArray<UInt64> = []
    private(set) var count = 0
    /// Every value held is `.int` and `words` hold them exactly.
    private(set) var exact = true

    @inline(__always) static func intWord(_ v: Int64) -> UInt64 { UInt64(bitPattern: v) ^ (1 << 63) }
    @inline(__always) static func intValue(_ w: UInt64) -> Int64 { Int64(bitPattern: w ^ (1 << 63)) }

    /// A search hint for `value`: entries with a smaller word order before it, larger after it.
    @inline(__always)
    func hint(_ value: IndexValue) -> UInt64 {
        guard exact else { return value.orderPrefix }
        switch value {
        case .int(let v): return Self.intWord(v)
        case .null, .bool: return 0  // below every integer
        case .uint, .string: return .max  // above every integer
        }
    }

    @inline(__always)
    func value(at position: Int) -> IndexValue { exact ? .int(Self.intValue(words[position])) : values[position] }

    @inline(__always)
    func entry(atPool position: Int) -> OrderedEntry<Key> {
        OrderedEntry(value: value(at: position), key: keys[position], slot: slots[position])
    }

    var leafCount: Int { order.count }
    var endPosition: OrderedPosition { OrderedPosition(leaf: order.count, offset: 0) }

    /// The pool positions of the leaf of rank `rank`.
    @inline(__always)
    func leafRange(_ rank: Int) -> Range<Int> {
        let id = Int(order[rank])
        let base = id &* Self.leafCapacity
        return base..<(base &+ Int(sizes[id]))
    }

    func entry(at position: OrderedPosition) -> OrderedEntry<Key>? {
        guard position.leaf < order.count else { return nil }
        let range = leafRange(position.leaf)
        guard position.offset < range.count else { return nil }
        return entry(atPool: range.lowerBound + position.offset)
    }

    // MARK: insert and remove

    mutating func insert(_ entry: OrderedEntry<Key>) {
        if exact, !entry.value.isInt { leaveExactMode() }
        count += 1
        let word = exact ? hint(entry.value) : entry.value.orderPrefix
        if order.isEmpty {
            let id = newLeaf(filler: entry.key)
            order.append(id)
            firstWords.append(word)
            put(entry, word, leaf: id, offset: 0)
            rebuildSamples(from: 0)
            return
        }
        let position = position(of: entry.value, entry.key)
        // Append to the end of the previous leaf rather than open the next one at offset 0.
        var rank = position.leaf
        var offset = position.offset
        if offset == 0 && rank > 0 {
            rank -= 1
            offset = leafRange(rank).count
        }
        if leafRange(rank).count == Self.leafCapacity {
            split(rank)
            let half = Self.leafCapacity / 2
            if offset > half {
                rank += 1
                offset -= half
            }
        }
        put(entry, word, leaf: order[rank], offset: offset)
        if offset == 0 { setFirstWord(rank, word) }
    }

    /// Removes the entry for (value, key); returns false if it was not there.
    @discardableResult
    mutating func remove(_ value: IndexValue, _ key: Key) -> Bool {
        let position = position(of: value, key)
        guard let found = entry(at: position), found.value == value, found.key == key else { return false }
        count -= 1
        let rank = position.leaf
        let id = Int(order[rank])
        let base = id * Self.leafCapacity
        let size = Int(sizes[id])
        words.closeGap(base: base, offset: position.offset, size: size)
        slots.closeGap(base: base, offset: position.offset, size: size)
        keys.closeGap(base: base, offset: position.offset, size: size)
        if !exact { values.closeGap(base: base, offset: position.offset, size: size) }
        sizes[id] -= 1
        if size == 1 {
            order.remove(at: rank)
            firstWords.remove(at: rank)
            freeIDs.append(Int32(id))
            rebuildSamples(from: rank)
        } else {
            if position.offset == 0 { setFirstWord(rank, words[base]) }
            if size - 1 < Self.leafCapacity / 4 { mergeIfSmall(rank) }
        }
        return true
    }

    /// Writes `entry` at `offset` of leaf `id`, moving the entries from there up by one.
    private mutating func put(_ entry: OrderedEntry<Key>, _ word: UInt64, leaf id: Int32, offset: Int) {
        let base = Int(id) * Self.leafCapacity
        let size = Int(sizes[Int(id)])
        precondition(size < Self.leafCapacity && offset <= size, "ordered index: put at \(offset) of a leaf of \(size)")
        words.openGap(base: base, offset: offset, size: size, word)
        slots.openGap(base: base, offset: offset, size: size, entry.slot)
        keys.openGap(base: base, offset: offset, size: size, entry.key)
        if !exact { values.openGap(base: base, offset: offset, size: size, entry.value) }
        sizes[Int(id)] += 1
    }

    private mutating func setFirstWord(_ rank: Int, _ word: UInt64) {
        firstWords[rank] = word
        if rank % Self.blockSize == 0 { samples[rank / Self.blockSize] = word }
    }

    private mutating func rebuildSamples(from rank: Int) {
        let wanted = (order.count + Self.blockSize - 1) / Self.blockSize
        if samples.count > wanted { samples.removeLast(samples.count - wanted) }
        while samples.count < wanted { samples.append(0) }
        var k = rank / Self.blockSize
        while k < wanted {
            samples[k] = firstWords[k * Self.blockSize]
            k += 1
        }
    }

    /// A leaf id with no entries: a freed one, or new pool positions filled with `filler`.
    private mutating func newLeaf(filler: Key) -> Int32 {
        if let id = freeIDs.popLast() { return id }
        let id = Int32(sizes.count)
        let capacity = Self.leafCapacity
        words.append(contentsOf: repeatElement(0, count: capacity))
        slots.append(contentsOf: repeatElement(0, count: capacity))
        keys.append(contentsOf: repeatElement(filler, count: capacity))
        if !exact { values.append(contentsOf: repeatElement(.null, count: capacity)) }
        sizes.append(0)
        return id
    }

    /// Moves the upper half of the full leaf of rank `rank` into a new leaf after it.
    private mutating func split(_ rank: Int) {
        let id = Int(order[rank])
        let half = Self.leafCapacity / 2
        let moving = Int(sizes[id]) - half
        let newID = newLeaf(filler: keys[id * Self.leafCapacity])
        moveEntries(from: id * Self.leafCapacity + half, to: Int(newID) * Self.leafCapacity, count: moving)
        sizes[id] = Int32(half)
        sizes[Int(newID)] = Int32(moving)
        order.insert(newID, at: rank + 1)
        firstWords.insert(words[Int(newID) * Self.leafCapacity], at: rank + 1)
        rebuildSamples(from: rank + 1)
    }

    /// Keeps leaves from thinning out after many removals: joins a small leaf with its successor.
    private mutating func mergeIfSmall(_ rank: Int) {
        let next = rank + 1
        guard next < order.count else { return }
        let id = Int(order[rank])
        let nextID = Int(order[next])
        let size = Int(sizes[id])
        let nextSize = Int(sizes[nextID])
        guard size + nextSize <= Self.leafCapacity / 2 else { return }
        moveEntries(from: nextID * Self.leafCapacity, to: id * Self.leafCapacity + size, count: nextSize)
        sizes[id] = Int32(size + nextSize)
        sizes[nextID] = 0
        order.remove(at: next)
        firstWords.remove(at: next)
        freeIDs.append(Int32(nextID))
        rebuildSamples(from: next)
    }

    /// Moves `count` entries between pool positions (fillers go the other way: both stay initialised).
    private mutating func moveEntries(from source: Int, to target: Int, count: Int) {
        for i in 0..<count {
            words.swapAt(source + i, target + i)
            slots.swapAt(source + i, target + i)
            keys.swapAt(source + i, target + i)
            if !exact { values.swapAt(source + i, target + i) }
        }
    }

    /// The first value that is not an integer arrived: words become prefixes, values are kept.
    private mutating func leaveExactMode() {
        precondition(exact, "ordered index left exact mode twice")
        values = ContiguousArray(repeating: .null, count: words.count)
        for i in words.indices {
            let value = IndexValue.int(Self.intValue(words[i]))
            values[i] = value
            words[i] = value.orderPrefix
        }
        exact = false
        for rank in order.indices { firstWords[rank] = words[leafRange(rank).lowerBound] }
        rebuildSamples(from: 0)
    }
}

extension ContiguousArray {
    /// In `[base + offset, base + size]` (all initialised), moves `[offset, size)` up by one — one
    /// memmove — and puts `element` at `offset`; the filler that stood at `size` is dropped.
    @inline(__always)
    mutating func openGap(base: Int, offset: Int, size: Int, _ element: Element) {
        withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress! + base
            _ = (p + size).move()
            (p + offset + 1).moveInitialize(from: p + offset, count: size - offset)
            (p + offset).initialize(to: element)
        }
    }

    /// Moves `[offset + 1, size)` down by one over the element at `offset`, which becomes the
    /// filler at `size - 1`.
    @inline(__always)
    mutating func closeGap(base: Int, offset: Int, size: Int) {
        withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress! + base
            let removed = (p + offset).move()
            (p + offset).moveInitialize(from: p + offset + 1, count: size - offset - 1)
            (p + size - 1).initialize(to: removed)
        }
    }
}

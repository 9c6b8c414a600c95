// An ordered secondary index: entries sorted by (value, primary key), in leaves of at most 32, a
// B+tree of three levels laid out in flat arrays.
//
// Leaves live in pools (one array per field; leaf `id` owns positions id·32 ..< id·32 + 32), so a
// leaf's address is arithmetic on its id: it can be prefetched before it is read, where a leaf
// that is its own heap object costs a dependent miss on the object before its first entry. Above
// the leaves, `top` (a `LeafDirectory`) lists every leaf in key order, in blocks of 16, and keeps
// every block's first word in a few KiB that stay in cache, so a search is samples → one block
// (its lines requested at once) → one leaf.
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

/// A position in an ordered index: a leaf's rank (see `LeafDirectory`) and an offset inside it.
struct OrderedPosition: Equatable, Sendable {
    var leaf: Int
    var offset: Int
}

struct OrderedIndex<Key: Comparable & Sendable>: Sendable {
    /// 32 rather than 64: a put requests every line of two leaves (words, slots, keys), and half
    /// as many lines kept the core's line-fill buffers less full (put 10–17 % faster in three
    /// alternating pairs, range scans level; 16 measured slower).
    static var leafCapacity: Int { 32 }

    /// Leaf pools by position (leaf id · capacity + offset); positions past a leaf's size hold fillers.
    private(set) var words: ContiguousArray<UInt64> = []
    private(set) var slots: ContiguousArray<Int32> = []
    private(set) var keys: ContiguousArray<Key> = []
    /// Full values by position, kept only once the index has left exact mode.
    private(set) var values: ContiguousArray<IndexValue> = []
    private(set) var freeIDs: [Int32] = []
    /// Every leaf, in key order.
    private(set) var top = LeafDirectory()
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

    /// `hint(.int(v))`.
    @inline(__always)
    func hint(int v: Int64) -> UInt64 { exact ? Self.intWord(v) : IndexValue.int(v).orderPrefix }

    @inline(__always)
    func value(at position: Int) -> IndexValue { exact ? .int(Self.intValue(words[position])) : values[position] }

    @inline(__always)
    func entry(atPool position: Int) -> OrderedEntry<Key> {
        OrderedEntry(value: value(at: position), key: keys[position], slot: slots[position])
    }

    var leafCount: Int { top.leafCount }
    /// One past the last leaf's rank.
    var endRank: Int { top.end }
    var endPosition: OrderedPosition { OrderedPosition(leaf: top.end, offset: 0) }

    /// The rank of the leaf after the leaf of rank `rank` (`endRank` after the last).
    @inline(__always)
    func nextLeaf(_ rank: Int) -> Int { top.next(rank) }

    /// The pool positions of the leaf of rank `rank`.
    @inline(__always)
    func leafRange(_ rank: Int) -> Range<Int> {
        let leaf = top.leaf(rank)
        let base = leaf.id &* Self.leafCapacity
        return base..<(base &+ leaf.size)
    }

    func entry(at position: OrderedPosition) -> OrderedEntry<Key>? {
        guard top.contains(position.leaf) else { return nil }
        let range = leafRange(position.leaf)
        guard position.offset < range.count else { return nil }
        return entry(atPool: range.lowerBound + position.offset)
    }

    // MARK: insert and remove

    /// `leafGuess`: a rank `prefetchLeaf(of:)` returned for the value, or -1 (see `partitionPoint`).
    /// Takes the entry's parts, not an `OrderedEntry`: an integer in exact mode is then inserted
    /// without building one.
    @inline(__always)
    mutating func insert(_ value: IndexValue, _ key: Key, _ slot: Int32, leafGuess: Int = -1) {
        if exact, case .int(let v) = value {
            insertExact(Self.intWord(v), key, slot, leafGuess: leafGuess)
        } else {
            insertValue(value, key, slot, leafGuess: leafGuess)
        }
    }

    /// `insert` of an integer value in exact mode (its word): searched and compared on words and
    /// keys alone, no `OrderedEntry` or `IndexValue` built (the put path's common case).
    mutating func insertExact(_ word: UInt64, _ key: Key, _ slot: Int32, leafGuess: Int = -1) {
        precondition(exact, "ordered index: exact insert outside exact mode")
        count += 1
        let (rank, offset) = room(at: position(ofWord: word, key, leafGuess: leafGuess), filler: key)
        put(word, key, slot, .null, rank: rank, offset: offset)
        if offset == 0 { top.setFirstWord(rank, word) }
    }

    private mutating func insertValue(_ value: IndexValue, _ key: Key, _ slot: Int32, leafGuess: Int) {
        if exact, !value.isInt { leaveExactMode() }
        count += 1
        let word = hint(value)  // exact for a stored value
        let (rank, offset) = room(at: position(of: value, key, leafGuess: leafGuess), filler: key)
        put(word, key, slot, value, rank: rank, offset: offset)
        if offset == 0 { top.setFirstWord(rank, word) }
    }

    /// Where an entry whose first position at or after it is `position` goes: the end of the
    /// previous leaf rather than offset 0 of the next, in a leaf with room (split if full). An
    /// empty index gets its first leaf.
    @inline(__always)
    private mutating func room(at position: OrderedPosition, filler: Key) -> (rank: Int, offset: Int) {
        if top.isEmpty {
            return (top.insert(after: -1, id: newLeaf(filler: filler), size: 0, firstWord: 0), 0)
        }
        var rank = position.leaf
        var offset = position.offset
        if offset == 0 && rank > 0 {
            rank = top.previous(rank)
            offset = top.leaf(rank).size
        }
        if top.leaf(rank).size == Self.leafCapacity {
            let upper = split(rank)  // may move the split leaf to another block
            let half = Self.leafCapacity / 2
            if offset > half {
                rank = upper
                offset -= half
            } else {
                rank = top.previous(upper)
            }
        }
        return (rank, offset)
    }

    /// Removes the entry for (value, key); returns false if it was not there.
    @inline(__always)
    @discardableResult
    mutating func remove(_ value: IndexValue, _ key: Key, leafGuess: Int = -1) -> Bool {
        if exact {
            guard case .int(let v) = value else { return false }  // every value held is an integer
            return removeExact(Self.intWord(v), key, leafGuess: leafGuess)
        }
        let position = position(of: value, key, leafGuess: leafGuess)
        guard let found = entry(at: position), found.value == value, found.key == key else { return false }
        remove(at: position)
        return true
    }

    /// `remove` of an integer value in exact mode (its word), on words and keys alone.
    mutating func removeExact(_ word: UInt64, _ key: Key, leafGuess: Int = -1) -> Bool {
        let position = position(ofWord: word, key, leafGuess: leafGuess)
        guard top.contains(position.leaf) else { return false }
        let leaf = top.leaf(position.leaf)
        let at = leaf.id &* Self.leafCapacity &+ position.offset
        guard position.offset < leaf.size, words[at] == word, keys[at] == key else { return false }
        remove(at: position)
        return true
    }

    private mutating func remove(at position: OrderedPosition) {
        count -= 1
        let rank = position.leaf
        let (id, size) = top.leaf(rank)
        let base = id * Self.leafCapacity
        words.closeGap(base: base, offset: position.offset, size: size)
        slots.closeGap(base: base, offset: position.offset, size: size)
        keys.closeGap(base: base, offset: position.offset, size: size)
        if !exact { values.closeGap(base: base, offset: position.offset, size: size) }
        if size == 1 {
            freeIDs.append(Int32(id))
            top.remove(rank)
        } else {
            top.setSize(rank, size - 1)
            if position.offset == 0 { top.setFirstWord(rank, words[base]) }
            if size - 1 < Self.leafCapacity / 4 { mergeIfSmall(rank) }
        }
    }

    /// Writes an entry at `offset` of the leaf of rank `rank`, moving the entries from there up by
    /// one (`value` is kept only outside exact mode).
    @inline(__always)
    private mutating func put(_ word: UInt64, _ key: Key, _ slot: Int32, _ value: IndexValue, rank: Int, offset: Int) {
        let (id, size) = top.leaf(rank)
        let base = id * Self.leafCapacity
        precondition(size < Self.leafCapacity && offset <= size, "ordered index: put at \(offset) of a leaf of \(size)")
        words.openGap(base: base, offset: offset, size: size, word)
        slots.openGap(base: base, offset: offset, size: size, slot)
        keys.openGap(base: base, offset: offset, size: size, key)
        if !exact { values.openGap(base: base, offset: offset, size: size, value) }
        top.setSize(rank, size + 1)
    }

    /// A leaf id with no entries: a freed one, or new pool positions filled with `filler`.
    private mutating func newLeaf(filler: Key) -> Int32 {
        if let id = freeIDs.popLast() { return id }
        let capacity = Self.leafCapacity
        let id = Int32(words.count / capacity)
        words.append(contentsOf: repeatElement(0, count: capacity))
        slots.append(contentsOf: repeatElement(0, count: capacity))
        keys.append(contentsOf: repeatElement(filler, count: capacity))
        if !exact { values.append(contentsOf: repeatElement(.null, count: capacity)) }
        return id
    }

    /// Moves the upper half of the full leaf of rank `rank` into a new leaf after it; returns the
    /// new leaf's rank (the split leaf is `previous` of it: its own rank may have changed).
    private mutating func split(_ rank: Int) -> Int {
        let (id, size) = top.leaf(rank)
        let half = Self.leafCapacity / 2
        let newID = newLeaf(filler: keys[id * Self.leafCapacity])
        moveEntries(from: id * Self.leafCapacity + half, to: Int(newID) * Self.leafCapacity, count: size - half)
        top.setSize(rank, half)
        return top.insert(after: rank, id: newID, size: size - half, firstWord: words[Int(newID) * Self.leafCapacity])
    }

    /// Keeps leaves from thinning out after many removals: joins a small leaf with its successor.
    private mutating func mergeIfSmall(_ rank: Int) {
        let next = top.next(rank)
        guard next < top.end else { return }
        let (id, size) = top.leaf(rank)
        let (nextID, nextSize) = top.leaf(next)
        guard size + nextSize <= Self.leafCapacity / 2 else { return }
        moveEntries(from: nextID * Self.leafCapacity, to: id * Self.leafCapacity + size, count: nextSize)
        top.setSize(rank, size + nextSize)
        top.remove(next)
        freeIDs.append(Int32(nextID))
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
        for rank in top.ranks { top.setFirstWord(rank, words[leafRange(rank).lowerBound]) }
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

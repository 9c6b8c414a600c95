// Searching an ordered index: samples → a block of `top` → a leaf, each step a binary search on
// dense words (a block's lines and a leaf's lines requested together, before the search reads
// them), and whole entries compared only among equal words.

extension OrderedIndex {
    /// The first position whose entry satisfies `isAtOrAfter`, a predicate that is false, then
    /// true along the index order, false for every entry whose word is below `hint` and true for
    /// every entry whose word is above it (`hint(value)` gives such a word for a value).
    /// `leafGuess` may be a rank `prefetchLeaf(of:)` returned for a value with this hint (or -1):
    /// checked, it saves the search of the top level.
    @inline(__always)
    func partitionPoint(
        hint: UInt64, leafGuess: Int = -1, _ isAtOrAfter: (borrowing OrderedEntry<Key>) -> Bool
    ) -> OrderedPosition {
        locate(hint: hint, leafGuess: leafGuess, startsAtOrAfter: { isAtOrAfter(entry(atPool: $0)) }) { range in
            search(range, from: range.lowerBound + 1, hint: hint, isAtOrAfter)
        }
    }

    /// The first entry at or after (value, key).
    @inline(__always)
    func position(of value: IndexValue, _ key: Key, leafGuess: Int = -1) -> OrderedPosition {
        partitionPoint(hint: hint(value), leafGuess: leafGuess) { !$0.precedes(value, key) }
    }

    /// `position(of: .int(v), key)` in exact mode, given `word = intWord(v)`: equal words are
    /// equal values there, so entries are told apart on keys alone, never built.
    @inline(__always)
    func position(ofWord word: UInt64, _ key: Key, leafGuess: Int = -1) -> OrderedPosition {
        locate(hint: word, leafGuess: leafGuess, startsAtOrAfter: { keys[$0] >= key }) { range in
            searchExact(range, from: range.lowerBound + 1, word: word, key: key)
        }
    }

    /// The steps both searches share: the first leaf whose first entry is at or after the target
    /// (the target may begin in the leaf before it; leaves whose first word equals the hint are
    /// told apart by `startsAtOrAfter`, given a leaf's first pool position), then `searchLeaf`
    /// in the leaf before it, which returns a pool position in the range it is given.
    @inline(__always)
    private func locate(
        hint: UInt64, leafGuess: Int, startsAtOrAfter: (Int) -> Bool, searchLeaf: (Range<Int>) -> Int
    ) -> OrderedPosition {
        guard !top.isEmpty else { return OrderedPosition(leaf: 0, offset: 0) }
        var low = top.isFirstLeaf(leafGuess, atOrAbove: hint) ? leafGuess : firstLeaf(atOrAbove: hint)
        if low < top.end && top.firstWord(low) == hint {
            let high = firstLeaf(above: hint, from: low)
            low = top.firstRank(from: low, to: high) { startsAtOrAfter(leafRange($0).lowerBound) }
        }
        if low == 0 { return OrderedPosition(leaf: 0, offset: 0) }
        let before = top.previous(low)
        let range = leafRange(before)
        let offset = searchLeaf(range) - range.lowerBound
        return offset == range.count ? OrderedPosition(leaf: low, offset: 0) : OrderedPosition(leaf: before, offset: offset)
    }

    /// `search` in exact mode: the first position in `start..<range.upperBound` at or after (word, key).
    @inline(__always)
    func searchExact(_ range: Range<Int>, from start: Int, word: UInt64, key: Key) -> Int {
        words.withUnsafeBufferPointer { words in
            keys.withUnsafeBufferPointer { keys in
                var low = firstNotBelow(start, range.upperBound) { words[$0] < word }
                // Runs of equal words are short (a remove always finds one, of its own entry):
                // step along the first few, and binary-search only a longer run.
                var steps = 0
                while low < range.upperBound && words[low] == word {
                    if !(keys[low] < key) { return low }
                    low += 1
                    steps += 1
                    if steps == 4 {
                        let end = firstNotBelow(low, range.upperBound) { words[$0] <= word }
                        return firstNotBelow(low, end) { keys[$0] < key }
                    }
                }
                return low
            }
        }
    }

    /// The rank of the first leaf whose first word is at least `hint` (`endRank` if none).
    @inline(__always)
    func firstLeaf(atOrAbove hint: UInt64) -> Int { firstLeaf(atOrAbove: hint, sample: top.sample(atOrAbove: hint)) }

    /// Starts loading the block of `top` that a search for `hint` reads, without waiting for it;
    /// returns the sample number to hand to `prefetchLeaf(of:sample:)` once the block has arrived.
    @inline(__always)
    func prefetchTop(_ hint: UInt64) -> Int {
        let k = top.sample(atOrAbove: hint)
        if k > 0 { top.prefetchBlock(k - 1) }
        return k
    }

    /// `firstLeaf(atOrAbove:)` given `k = top.sample(atOrAbove: hint)`.
    @inline(__always)
    func firstLeaf(atOrAbove hint: UInt64, sample k: Int) -> Int {
        if k > 0 { top.prefetchBlock(k - 1) }  // its lines then load together, not one by one
        return top.firstLeaf(atOrAbove: hint, sample: k)
    }

    /// The rank of the first leaf at or after `start` whose first word is above `hint`.
    func firstLeaf(above hint: UInt64, from start: Int) -> Int {
        top.firstRank(from: start, to: top.end) { top.firstWord($0) > hint }
    }

    /// In the pool positions `start..<range.upperBound`, the first whose entry satisfies
    /// `isAtOrAfter` (see `partitionPoint`).
    @inline(__always)
    func search(_ range: Range<Int>, from start: Int, hint: UInt64, _ isAtOrAfter: (borrowing OrderedEntry<Key>) -> Bool) -> Int {
        words.withUnsafeBufferPointer { words in
            var low = firstNotBelow(start, range.upperBound) { words[$0] < hint }
            // Then the first word above the hint: mostly none is equal (integer values are their
            // own words), which one predictable branch tells.
            var end = low
            if low < range.upperBound && words[low] == hint {
                end = firstNotBelow(low, range.upperBound) { words[$0] <= hint }
            }
            while low < end {  // among equal words, compare whole entries
                let mid = (low + end) >> 1
                if isAtOrAfter(entry(atPool: mid)) { end = mid } else { low = mid + 1 }
            }
            return low
        }
    }

    /// The first pool position in `start..<range.upperBound` whose entry lies past `upper`.
    @inline(__always)
    func end(_ range: Range<Int>, from start: Int, before upper: Bound?) -> Int {
        guard let upper else { return range.upperBound }
        let last = hint(upper.value)
        // The first word >= last: every entry before it is below `upper`.
        var low = words.withUnsafeBufferPointer { words in firstNotBelow(start, range.upperBound) { words[$0] < last } }
        while low < range.upperBound && words[low] == last {
            let value = value(at: low)
            if upper.inclusive ? upper.value < value : upper.value <= value { break }
            low += 1
        }
        return low
    }

    /// Starts loading the leaf where `value` would sit — its words, slots and keys — which a
    /// search and a memmove would otherwise miss on line by line. Found on words alone, so with
    /// equal words it may not be the leaf the search picks: only a hint. Returns the rank of the
    /// first leaf whose first word is at least the value's hint (-1 if the index is empty), which
    /// a search for the value that follows soon may take as its `leafGuess`. `sample`: what
    /// `prefetchTop` returned for the value's hint a moment before, or -1.
    @inline(__always)
    @discardableResult
    func prefetchLeaf(of value: IndexValue, sample: Int = -1) -> Int { prefetchLeaf(hint: hint(value), sample: sample) }

    /// `prefetchLeaf(of:sample:)` given the value's hint.
    @inline(__always)
    @discardableResult
    func prefetchLeaf(hint: UInt64, sample: Int = -1) -> Int {
        guard !top.isEmpty else { return -1 }
        // A sample number found before other moves changed the index (a batch of held-back moves)
        // may be stale: in range, it only makes the rank a worse guess; out of range, look again.
        let k = sample >= 0 && sample <= top.blocks.count ? sample : top.sample(atOrAbove: hint)
        let rank = firstLeaf(atOrAbove: hint, sample: k)
        prefetchLeaf(rank: rank > 0 ? top.previous(rank) : 0)
        return rank
    }

    @inline(__always)
    func prefetchLeaf(rank: Int) {
        let base = top.leaf(rank).id * Self.leafCapacity
        prefetchLines(words, base)
        prefetchLines(slots, base)
        prefetchLines(keys, base)
    }

    @inline(__always)
    private func prefetchLines<T>(_ pool: ContiguousArray<T>, _ base: Int) {
        pool.withUnsafeBufferPointer { buffer in
            let start = UnsafeRawPointer(buffer.baseAddress! + base)
            let bytes = Self.leafCapacity * MemoryLayout<T>.stride
            var offset = 0
            while offset < bytes {
                prefetch(start + offset)
                offset += 64
            }
        }
    }

    /// Visits entries strictly before `end`, backward; stops when `body` returns false.
    func forEachReversed(before end: OrderedPosition, _ body: (OrderedEntry<Key>) -> Bool) {
        var rank = min(end.leaf, top.end)
        var offset = rank < top.end ? end.offset : 0
        while true {
            if offset == 0 {
                if rank == 0 { return }
                rank = top.previous(rank)
                offset = leafRange(rank).count
            }
            let base = leafRange(rank).lowerBound
            var i = base + offset - 1
            while i >= base {
                if !body(entry(atPool: i)) { return }
                i -= 1
            }
            offset = 0
        }
    }

    /// Checks the structure: leaves sorted, non-empty and within capacity; the top level, first
    /// words, sizes, free ids and exact mode in step; count right.
    func checkInvariants() -> Bool {
        let capacity = Self.leafCapacity
        guard words.count % capacity == 0, slots.count == words.count, keys.count == words.count,
            values.count == (exact ? 0 : words.count),
            top.checkInvariants(firstWord: { words[$0 * capacity] })
        else { return false }
        var ids = Set<Int32>()
        for id in freeIDs where !ids.insert(id).inserted { return false }
        var total = 0
        var previous: OrderedEntry<Key>?
        for rank in top.ranks {
            let range = leafRange(rank)
            guard ids.insert(Int32(top.leaf(rank).id)).inserted, !range.isEmpty, range.count <= capacity else { return false }
            for i in range {
                let entry = entry(atPool: i)
                if !exact && words[i] != values[i].orderPrefix { return false }
                if let p = previous, !p.precedes(entry.value, entry.key) { return false }
                previous = entry
            }
            total += range.count
        }
        return ids.count == words.count / capacity && total == count
    }
}

/// The first index in `low..<high` for which `isBelow` is false (`high` if none), for a predicate
/// that is true, then false: ⌈log2(count)⌉ steps whatever the data, each a select. LLVM's x86
/// backend turns that select back into a branch inside the loop (seen in the disassembly); a
/// truly branch-free step (the borrow of `w - h` in bit operations) cut simulated mispredicts per
/// put from 50 to 21 but added 680 instructions and measured no faster, so the select stays.
@inline(__always)
func firstNotBelow(_ low: Int, _ high: Int, _ isBelow: (Int) -> Bool) -> Int {
    var base = low
    var n = high &- low
    if n <= 0 { return low }
    while n > 1 {
        let half = n &>> 1
        base = isBelow(base &+ half) ? base &+ half : base
        n &-= half
    }
    return isBelow(base) ? base &+ 1 : base
}

// The top level of an ordered index: every leaf in key order, as its first word, id and size,
// kept in blocks of up to 16 leaves.
//
// Why blocks: this level used to be one flat array in key order, so each leaf split or merge
// moved every entry after it (about 250 KiB at 1M index entries): 7 % of a put's time, and its
// slowest writes (p999). A block has room, so a leaf split or merge moves at most 15 cells of one
// block; only a block split or an emptied block moves the list of blocks, which is 12–16 times
// shorter. A search reads `samples` (every block's first word: tens of KiB, kept in cache) → one
// block (its 16 words, 128 bytes, and its 16 cells, 64 bytes: five lines, since large arrays here
// start at 48 mod 64) → the leaf.
//
// A leaf's rank is `k << 4 | j`: the j-th leaf of the k-th block in key order. Ranks grow along
// key order but have gaps (step with `next` and `previous`), and change when a block is split or
// dropped: a rank kept across changes is only a guess, to be checked (`isFirstLeaf`).

struct LeafDirectory: Sendable {
    struct Block: Sendable {
        var id: Int32
        var count: Int32
    }

    static var capacity: Int { 16 }
    static var shift: Int { 4 }
    static var mask: Int { 15 }
    /// A leaf's cell holds `id << sizeBits | size`.
    static var sizeBits: UInt32 { 8 }

    /// First words of the leaves by cell: block id · 16 + j.
    private(set) var words: ContiguousArray<UInt64> = []
    /// Leaf ids and sizes by cell.
    private(set) var cells: ContiguousArray<UInt32> = []
    /// Every block, in key order.
    private(set) var blocks: ContiguousArray<Block> = []
    /// `samples[k]`: the first word of block k's first leaf.
    private(set) var samples: ContiguousArray<UInt64> = []
    private(set) var freeBlocks: [Int32] = []

    var isEmpty: Bool { blocks.isEmpty }
    /// One past the last leaf's rank.
    var end: Int { blocks.count << Self.shift }
    /// Summed over the blocks: only checks and tests ask.
    var leafCount: Int { blocks.reduce(0) { $0 + Int($1.count) } }

    /// Every leaf's rank, in key order. A copy of the directory as it was: step with `next` to
    /// change leaves while walking.
    var ranks: UnfoldSequence<Int, Int> {
        sequence(state: 0) { [self] rank in
            guard rank < end else { return nil }
            defer { rank = next(rank) }
            return rank
        }
    }

    @inline(__always)
    func cell(_ rank: Int) -> Int { Int(blocks[rank >> Self.shift].id) << Self.shift | rank & Self.mask }

    @inline(__always)
    func firstWord(_ rank: Int) -> UInt64 { words[cell(rank)] }

    @inline(__always)
    func leaf(_ rank: Int) -> (id: Int, size: Int) {
        let packed = cells[cell(rank)]
        return (Int(packed >> Self.sizeBits), Int(packed & (1 << Self.sizeBits - 1)))
    }

    /// Whether `rank` names a leaf.
    @inline(__always)
    func contains(_ rank: Int) -> Bool {
        rank >= 0 && rank >> Self.shift < blocks.count && rank & Self.mask < Int(blocks[rank >> Self.shift].count)
    }

    /// The rank after the leaf of rank `rank` (`end` after the last).
    @inline(__always)
    func next(_ rank: Int) -> Int {
        let k = rank >> Self.shift
        return rank & Self.mask + 1 < Int(blocks[k].count) ? rank + 1 : (k + 1) << Self.shift
    }

    /// The leaf before rank `rank` (a leaf's or `end`), which must not be the first.
    @inline(__always)
    func previous(_ rank: Int) -> Int {
        precondition(rank > 0, "leaf directory: no leaf before the first")
        if rank & Self.mask > 0 { return rank - 1 }
        let k = (rank >> Self.shift) - 1
        return k << Self.shift | (Int(blocks[k].count) - 1)
    }

    // MARK: search

    /// The number of the first block whose first word is at least `hint` (`blocks.count` if none).
    @inline(__always)
    func sample(atOrAbove hint: UInt64) -> Int {
        samples.withUnsafeBufferPointer { samples in firstNotBelow(0, samples.count) { samples[$0] < hint } }
    }

    /// The first leaf whose first word is at least `hint` (`end` if none), given
    /// `k = sample(atOrAbove: hint)`: it is in block k - 1 after that block's first leaf, or
    /// it is block k's first.
    @inline(__always)
    func firstLeaf(atOrAbove hint: UInt64, sample k: Int) -> Int {
        if k == 0 { return 0 }
        let block = blocks[k - 1]
        let base = Int(block.id) << Self.shift
        let j = words.withUnsafeBufferPointer { words in
            firstNotBelow(base + 1, base + Int(block.count)) { words[$0] < hint }
        } - base
        return j < Int(block.count) ? (k - 1) << Self.shift | j : k << Self.shift
    }

    /// Requests the lines of block number `k` (its words and cells), which a search reads next.
    @inline(__always)
    func prefetchBlock(_ k: Int) {
        let base = Int(blocks[k].id) << Self.shift
        words.withUnsafeBufferPointer { words in
            let start = UnsafeRawPointer(words.baseAddress! + base)
            prefetch(start)
            prefetch(start + 64)
            prefetch(start + 127)  // the array's storage need not start on a line
        }
        cells.withUnsafeBufferPointer { cells in
            let start = UnsafeRawPointer(cells.baseAddress! + base)
            prefetch(start)
            prefetch(start + 63)
        }
    }

    /// Whether `rank` is the first leaf whose first word is at least `hint`, read on two leaves.
    /// A rank found a moment before stays right unless a leaf or block was split, merged or
    /// dropped, or a first word changed, in between.
    @inline(__always)
    func isFirstLeaf(_ rank: Int, atOrAbove hint: UInt64) -> Bool {
        guard rank == end || contains(rank) else { return false }
        return (rank == end || firstWord(rank) >= hint) && (rank == 0 || firstWord(previous(rank)) < hint)
    }

    /// The first rank in `low..<high` (leaf ranks or `end`) whose leaf satisfies `isAtOrAfter`,
    /// a predicate false, then true, along key order; `high` if none. Binary search over the
    /// blocks' first leaves, then inside one block.
    func firstRank(from low: Int, to high: Int, where isAtOrAfter: (Int) -> Bool) -> Int {
        if low >= high { return high }
        let kLow = low >> Self.shift
        let kHigh = high >> Self.shift
        let jHigh = high & Self.mask
        // Blocks kLow + 1 ..< kEnd begin inside (low, high).
        let kEnd = jHigh > 0 ? kHigh + 1 : kHigh
        let kFound = firstNotBelow(kLow + 1, kEnd) { !isAtOrAfter($0 << Self.shift) }
        let k = kFound - 1
        let from = k == kLow ? low & Self.mask : 1  // a later block's first leaf is known false
        let to = k == kHigh ? jHigh : Int(blocks[k].count)
        let j = firstNotBelow(from, to) { !isAtOrAfter(k << Self.shift | $0) }
        if j < to { return k << Self.shift | j }
        return kFound < kEnd ? kFound << Self.shift : high
    }

    // MARK: changes

    @inline(__always)
    mutating func setFirstWord(_ rank: Int, _ word: UInt64) {
        words[cell(rank)] = word
        if rank & Self.mask == 0 { samples[rank >> Self.shift] = word }
    }

    /// Sets a leaf's size, below `1 << sizeBits` (the ordered index keeps leaves of at most 32).
    @inline(__always)
    mutating func setSize(_ rank: Int, _ size: Int) {
        let c = cell(rank)
        cells[c] = cells[c] & ~(1 << Self.sizeBits - 1) | UInt32(truncatingIfNeeded: size)
    }

    /// Adds leaf `id` right after the leaf of rank `rank`, or as the only leaf when the directory
    /// is empty (`rank` -1). Returns its rank; the leaf of rank `rank` is now `previous` of it.
    mutating func insert(after rank: Int, id: Int32, size: Int, firstWord: UInt64) -> Int {
        precondition(UInt32(id) < 1 << (32 - Self.sizeBits) && size < 1 << Self.sizeBits, "leaf directory: leaf \(id) of \(size)")
        if blocks.isEmpty {
            precondition(rank == -1, "leaf directory: insert after \(rank) when empty")
            blocks.append(Block(id: newBlock(), count: 0))
            samples.append(firstWord)
            put(k: 0, j: 0, id: id, size: size, firstWord: firstWord)
            return 0
        }
        var k = rank >> Self.shift
        var j = rank & Self.mask + 1
        if Int(blocks[k].count) == Self.capacity {
            splitBlock(k)
            let half = Self.capacity / 2
            if j > half {
                k += 1
                j -= half
            }
        }
        put(k: k, j: j, id: id, size: size, firstWord: firstWord)
        return k << Self.shift | j
    }

    /// Opens a gap at position `j` of block k (never 0 of a non-empty block) and fills it.
    private mutating func put(k: Int, j: Int, id: Int32, size: Int, firstWord: UInt64) {
        let base = Int(blocks[k].id) << Self.shift
        let count = Int(blocks[k].count)
        precondition(count < Self.capacity && j <= count && (j > 0 || count == 0), "leaf directory: put at \(j) of \(count)")
        words.openGap(base: base, offset: j, size: count, firstWord)
        cells.openGap(base: base, offset: j, size: count, UInt32(id) << Self.sizeBits | UInt32(size))
        blocks[k].count += 1
    }

    /// Drops the leaf of rank `rank`: an emptied block goes, a thin one joins a neighbour.
    mutating func remove(_ rank: Int) {
        let k = rank >> Self.shift
        let base = Int(blocks[k].id) << Self.shift
        let count = Int(blocks[k].count)
        words.closeGap(base: base, offset: rank & Self.mask, size: count)
        cells.closeGap(base: base, offset: rank & Self.mask, size: count)
        blocks[k].count -= 1
        if count == 1 {
            freeBlocks.append(blocks[k].id)
            blocks.remove(at: k)
            samples.remove(at: k)
            return
        }
        if rank & Self.mask == 0 { samples[k] = words[base] }
        // A thin block joins the neighbour on either side that leaves room for a few splits. With
        // the right one only, deletions in ascending order left every block a single leaf.
        if count - 1 < Self.capacity / 4, !(k + 1 < blocks.count && joinIfSmall(k)) {
            if k > 0 { joinIfSmall(k - 1) }
        }
    }

    /// Moves the upper half of full block k into a new block after it.
    private mutating func splitBlock(_ k: Int) {
        let half = Self.capacity / 2
        let id = newBlock()
        moveCells(from: Int(blocks[k].id) << Self.shift | half, to: Int(id) << Self.shift, count: half)
        blocks[k].count = Int32(half)
        blocks.insert(Block(id: id, count: Int32(half)), at: k + 1)
        samples.insert(words[Int(id) << Self.shift], at: k + 1)
    }

    /// Joins block k + 1 into block k when both fit in three quarters of a block; returns whether
    /// it did. Two thin blocks (under a quarter) then never stay side by side, so blocks average
    /// more than two leaves however leaves are removed.
    @discardableResult
    private mutating func joinIfSmall(_ k: Int) -> Bool {
        let count = Int(blocks[k].count)
        let nextCount = Int(blocks[k + 1].count)
        guard count + nextCount <= Self.capacity * 3 / 4 else { return false }
        let nextID = blocks[k + 1].id
        moveCells(from: Int(nextID) << Self.shift, to: Int(blocks[k].id) << Self.shift | count, count: nextCount)
        blocks[k].count = Int32(count + nextCount)
        blocks.remove(at: k + 1)
        samples.remove(at: k + 1)
        freeBlocks.append(nextID)
        return true
    }

    private mutating func moveCells(from source: Int, to target: Int, count: Int) {
        for i in 0..<count {
            words[target + i] = words[source + i]
            cells[target + i] = cells[source + i]
        }
    }

    private mutating func newBlock() -> Int32 {
        if let id = freeBlocks.popLast() { return id }
        let id = Int32(words.count >> Self.shift)
        words.append(contentsOf: repeatElement(0, count: Self.capacity))
        cells.append(contentsOf: repeatElement(0, count: Self.capacity))
        return id
    }

    /// Checks blocks, samples and free blocks against each other, and that no two thin blocks
    /// stand side by side (see `joinIfSmall`); `firstWord` gives each leaf's true first word, by
    /// leaf id.
    func checkInvariants(firstWord trueFirstWord: (Int) -> UInt64) -> Bool {
        guard samples.count == blocks.count, words.count == cells.count, words.count % Self.capacity == 0 else { return false }
        var ids = Set(freeBlocks)
        guard ids.count == freeBlocks.count else { return false }
        let thin = Self.capacity / 4
        for k in blocks.indices {
            let count = Int(blocks[k].count)
            guard ids.insert(blocks[k].id).inserted, count > 0, count <= Self.capacity,
                samples[k] == firstWord(k << Self.shift),
                k == 0 || count >= thin || Int(blocks[k - 1].count) >= thin
            else { return false }
            for j in 0..<count where firstWord(k << Self.shift | j) != trueFirstWord(leaf(k << Self.shift | j).id) { return false }
        }
        return ids.count == words.count / Self.capacity
    }
}

// Short lists of slots for the hash index: a value held by several records keeps its slots in
// one block, so a lookup, insert or remove touches one cache line or two, wherever the other
// values' entries lie. Blocks come in six sizes (4 to 128 words, a count then slots) from one
// pool per size with a free list; a list moves to the next size when full and back when a
// quarter full, so memory follows the records.

struct SlotLists: Sendable {
    static var sizeClasses: Int { 6 }
    /// Slots a block of size class `c` holds (its first word is the count).
    @inline(__always) static func capacity(_ c: Int) -> Int { (4 << c) - 1 }

    private var pools: [ContiguousArray<UInt32>] = Array(repeating: [], count: SlotLists.sizeClasses)
    private var free: [[Int32]] = Array(repeating: [], count: SlotLists.sizeClasses)

    /// A list's reference: its size class in bits 28–30, its block number below.
    struct Reference: Equatable {
        var raw: UInt32
        var sizeClass: Int { Int(raw >> 28) & 7 }
        var block: Int { Int(raw & 0x0FFF_FFFF) }
        init(raw: UInt32) { self.raw = raw }
        init(sizeClass: Int, block: Int) { raw = UInt32(sizeClass) << 28 | UInt32(block) }
    }

    /// A new list holding `a` and `b`.
    mutating func make(_ a: Int32, _ b: Int32) -> Reference {
        let list = allocate(0)
        pools[0].withUnsafeMutableBufferPointer { pool in
            let base = list.block * 4
            pool[base] = 2
            pool[base + 1] = UInt32(bitPattern: a)
            pool[base + 2] = UInt32(bitPattern: b)
        }
        return list
    }

    func count(_ list: Reference) -> Int { Int(pools[list.sizeClass][list.block << (list.sizeClass + 2)]) }

    /// Appends `slot`; returns the list's reference, which changes when the list moves to a larger block.
    mutating func append(_ list: Reference, _ slot: Int32) -> Reference {
        var list = list
        if count(list) == Self.capacity(list.sizeClass) { list = move(list, to: list.sizeClass + 1) }
        let c = list.sizeClass
        pools[c].withUnsafeMutableBufferPointer { pool in
            let base = list.block << (c + 2)
            let n = Int(pool[base])
            pool[base + 1 + n] = UInt32(bitPattern: slot)
            pool[base] = UInt32(n + 1)
        }
        return list
    }

    /// Removes `slot` (the last slot takes its place); returns the list's reference, which
    /// changes when the list moves to a smaller block.
    mutating func remove(_ list: Reference, _ slot: Int32) -> Reference {
        let c = list.sizeClass
        let n = pools[c].withUnsafeMutableBufferPointer { pool -> Int in
            let base = list.block << (c + 2)
            let n = Int(pool[base])
            var i = base + 1
            while pool[i] != UInt32(bitPattern: slot) {
                i += 1
                precondition(i <= base + n, "hash index list lacks slot \(slot)")
            }
            pool[i] = pool[base + n]
            pool[base] = UInt32(n - 1)
            return n - 1
        }
        if c > 0 && n * 4 <= Self.capacity(c) { return move(list, to: c - 1) }
        return list
    }

    /// Visits the list's slots until `body` returns false; returns false if it stopped.
    @inline(__always)
    func forEach(_ list: Reference, _ body: (Int32) -> Bool) -> Bool {
        let c = list.sizeClass
        return pools[c].withUnsafeBufferPointer { pool in
            let base = list.block << (c + 2)
            let n = Int(pool[base])
            var i = base + 1
            while i <= base + n {
                if !body(Int32(bitPattern: pool[i])) { return false }
                i += 1
            }
            return true
        }
    }

    /// Starts loading the list's block (its first two lines: 31 slots).
    @inline(__always)
    func prefetchBlock(_ list: Reference) {
        let c = list.sizeClass
        pools[c].withUnsafeBufferPointer { pool in
            let start = UnsafeRawPointer(pool.baseAddress! + (list.block << (c + 2)))
            prefetch(start)
            if c >= 3 { prefetch(start + 64) }
        }
    }

    /// Frees a list of one slot and returns that slot (which goes back into its word).
    mutating func takeOnly(_ list: Reference) -> Int32 {
        let base = list.block << (list.sizeClass + 2)
        precondition(pools[list.sizeClass][base] == 1, "hash index list of \(count(list)) slots freed as one")
        free[list.sizeClass].append(Int32(list.block))
        return Int32(bitPattern: pools[list.sizeClass][base + 1])
    }

    private mutating func allocate(_ c: Int) -> Reference {
        if let block = free[c].popLast() { return Reference(sizeClass: c, block: Int(block)) }
        let words = 4 << c
        let block = pools[c].count / words
        precondition(block < 0x1000_0000, "hash index: more than 2^28 lists of one size")
        pools[c].append(contentsOf: repeatElement(0, count: words))
        return Reference(sizeClass: c, block: block)
    }

    private mutating func move(_ list: Reference, to c: Int) -> Reference {
        precondition(c < Self.sizeClasses, "hash index list outgrew its largest block")
        let moved = allocate(c)
        let n = count(list)
        let from = list.block << (list.sizeClass + 2)
        let to = moved.block << (c + 2)
        let words = pools[list.sizeClass][from...(from + n)]  // the count and the slots
        pools[c].replaceSubrange(to...(to + n), with: words)
        free[list.sizeClass].append(Int32(list.block))
        return moved
    }
}

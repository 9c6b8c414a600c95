// Short lists of slots for the hash index: a value held by several records keeps its slots in
// one block, so a lookup, insert or remove touches one cache line or two, wherever the other
// values' entries lie. Blocks come in six sizes (4 to 128 words, a count then slots), all cut
// from one pool with a free list per size; a list moves to the next size when full and back when
// a quarter full, so memory follows the records. One pool rather than one per size: every write
// then checks one array's uniqueness, not an outer array's and an inner one's (measured with
// cachegrind: each check is a call).

struct SlotLists: Sendable {
    static var sizeClasses: Int { 6 }
    /// Slots a block of size class `c` holds (its first word is the count).
    @inline(__always) static func capacity(_ c: Int) -> Int { (4 << c) - 1 }

    private var pool: ContiguousArray<UInt32> = []
    /// Free blocks by size class, as pool offsets / 4.
    private var free: [[UInt32]] = Array(repeating: [], count: SlotLists.sizeClasses)

    /// A list's reference: its size class in bits 28–30, its pool offset / 4 below (blocks start
    /// on multiples of 4 words, so the pool may hold 2^30 words).
    struct Reference: Equatable {
        var raw: UInt32
        @inline(__always) var sizeClass: Int { Int(raw >> 28) & 7 }
        @inline(__always) var base: Int { Int(raw & 0x0FFF_FFFF) << 2 }
        init(raw: UInt32) { self.raw = raw }
        init(sizeClass: Int, base: Int) { raw = UInt32(sizeClass) << 28 | UInt32(base >> 2) }
    }

    /// A new list holding `a` and `b`.
    mutating func make(_ a: Int32, _ b: Int32) -> Reference {
        let list = allocate(0)
        pool.withUnsafeMutableBufferPointer { pool in
            pool[list.base] = 2
            pool[list.base + 1] = UInt32(bitPattern: a)
            pool[list.base + 2] = UInt32(bitPattern: b)
        }
        return list
    }

    @inline(__always)
    func count(_ list: Reference) -> Int { Int(pool[list.base]) }

    /// Appends `slot`; returns the list's reference, which changes when the list moves to a
    /// larger block.
    @inline(__always)
    mutating func append(_ list: Reference, _ slot: Int32) -> Reference {
        var list = list
        if count(list) == Self.capacity(list.sizeClass) { list = move(list, to: list.sizeClass + 1) }
        let base = list.base
        pool.withUnsafeMutableBufferPointer { pool in
            let n = Int(pool[base])
            pool[base + 1 + n] = UInt32(bitPattern: slot)
            pool[base] = UInt32(n + 1)
        }
        return list
    }

    /// Removes `slot` (the last slot takes its place); returns the list's reference, which
    /// changes when the list moves to a smaller block.
    @inline(__always)
    mutating func remove(_ list: Reference, _ slot: Int32) -> Reference {
        let c = list.sizeClass
        let base = list.base
        let n = pool.withUnsafeMutableBufferPointer { pool -> Int in
            let n = Int(pool[base])
            let wanted = UInt32(bitPattern: slot)
            var i = base + 1
            while pool[i] != wanted {
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
        pool.withUnsafeBufferPointer { pool in
            let base = list.base
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
        pool.withUnsafeBufferPointer { pool in
            let start = UnsafeRawPointer(pool.baseAddress! + list.base)
            prefetch(start)
            if list.sizeClass >= 3 { prefetch(start + 64) }
        }
    }

    /// Frees a list of one slot and returns that slot (which goes back into its word).
    mutating func takeOnly(_ list: Reference) -> Int32 {
        precondition(pool[list.base] == 1, "hash index list of \(count(list)) slots freed as one")
        free[list.sizeClass].append(UInt32(list.base >> 2))
        return Int32(bitPattern: pool[list.base + 1])
    }

    private mutating func allocate(_ c: Int) -> Reference {
        if let block = free[c].popLast() { return Reference(sizeClass: c, base: Int(block) << 2) }
        let base = pool.count
        precondition(base + (4 << c) <= 1 << 30, "hash index: its lists outgrew 2^30 words")
        pool.append(contentsOf: repeatElement(0, count: 4 << c))
        return Reference(sizeClass: c, base: base)
    }

    private mutating func move(_ list: Reference, to c: Int) -> Reference {
        precondition(c < Self.sizeClasses, "hash index list outgrew its largest block")
        let moved = allocate(c)
        let n = count(list)
        let (from, to) = (list.base, moved.base)
        pool.withUnsafeMutableBufferPointer { pool in
            for i in 0...n { pool[to + i] = pool[from + i] }  // the count and the slots
        }
        free[list.sizeClass].append(UInt32(from >> 2))
        return moved
    }
}

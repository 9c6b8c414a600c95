// A hash secondary index: value → the slots of the records holding it. One open-addressing
// table of 8-byte words, one word per distinct value hash (a 32-bit hash of the value above a
// payload; 0 marks an empty word), linear probing, load at most 1/2, backward-shift deletion.
// A value held once keeps its slot in the word itself; a value held by several records keeps
// them in a short list (`SlotLists`), so its lookup, insert or remove reads one word and one
// block — where one word per record made runs of ten words inside clusters of thirty, five
// cache lines read one after the other. Words keep only a hash: a lookup yields candidate slots,
// and the caller checks each record's value (a hash collision costs one extra record read).
//
// A value held by very many records (a flag, a zone with half the table in it) would make its
// list long and every remove a long scan. Once a list reaches `heavyThreshold` slots, the caller
// moves that value's slots out into `heavy`, a set per value.

struct HashIndex: Sendable {
    static var heavyThreshold: Int { 64 }
    /// Payload bit marking a list reference (clear: the payload is slot + 1).
    private static var listBit: UInt32 { 0x8000_0000 }

    private var words: ContiguousArray<UInt64>
    private var mask: Int
    private var lists = SlotLists()
    /// Words in use: distinct hashes in the table.
    private var used = 0
    /// Slots held in the table (excluding `heavy`).
    private(set) var tableCount = 0
    /// Values held by many records, with their slots; checked only while non-empty.
    private(set) var heavy: [IndexValue: Set<Int32>] = [:]
    /// Mixed into every hash so that values chosen by clients cannot aim at one probe run.
    private let seed: UInt64

    init() {
        words = ContiguousArray(repeating: 0, count: 16)
        mask = 15
        var hasher = Hasher()  // the standard library's per-process random seed
        hasher.combine(0x4B75_7261 as UInt64)
        seed = UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// Entries held, one per indexed record.
    var count: Int { tableCount + heavy.values.reduce(0) { $0 + $1.count } }

    @inline(__always)
    func hash(_ value: IndexValue) -> UInt64 {
        switch value {
        case .null: mix(0x6E75_6C6C)
        case .bool(let v): mix(v ? 0x7472_7565 : 0x6661_6C73)
        case .int(let v): mix(UInt64(bitPattern: v))
        case .uint(let v): mix(v)
        case .string(let v): mix(UInt64(bitPattern: Int64(v.hashValue)))
        }
    }

    /// `hash(.int(v))`, without building the value.
    @inline(__always)
    func hash(int v: Int64) -> UInt64 { mix(UInt64(bitPattern: v)) }

    @inline(__always)
    private func mix(_ bits: UInt64) -> UInt64 {
        // MurmurHash3's 64-bit finaliser: every input bit reaches the low 32 bits kept.
        var x = bits ^ seed
        x = (x ^ (x >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        x = (x ^ (x >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return (x ^ (x >> 33)) & 0xFFFF_FFFF
    }

    /// The index of the word holding hash `h`, or of the empty word where it would go.
    @inline(__always)
    private func find(_ h: UInt64) -> (index: Int, found: Bool) {
        let mask = mask
        return words.withUnsafeBufferPointer { words in
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let w = words[i]
                if w == 0 { return (i, false) }
                if w >> 32 == h { return (i, true) }
                i = (i &+ 1) & mask
            }
        }
    }

    @inline(__always)
    private static func list(_ word: UInt64) -> SlotLists.Reference? {
        let payload = UInt32(truncatingIfNeeded: word)
        return payload & listBit == 0 ? nil : SlotLists.Reference(raw: payload & ~listBit)
    }

    @inline(__always)
    private static func word(_ h: UInt64, _ list: SlotLists.Reference) -> UInt64 { h << 32 | UInt64(listBit | list.raw) }

    @inline(__always)
    private static func word(_ h: UInt64, slot: Int32) -> UInt64 { h << 32 | UInt64(UInt32(slot) + 1) }

    /// Adds `slot` under `value`; returns true when the value's list has grown long enough that
    /// the caller should `promote` it.
    /// `h`: `hash(value)`, if the caller has it already.
    @discardableResult
    @inline(__always)
    mutating func insert(_ value: IndexValue, _ slot: Int32, hash h: UInt64 = .max) -> Bool {
        if !heavy.isEmpty, let i = heavy.index(forKey: value) {
            heavy.values[i].insert(slot)
            return false
        }
        if (used + 1) * 2 > words.count { grow() }
        let h = h == .max ? hash(value) : h
        let (i, found) = find(h)
        tableCount += 1
        guard found else {
            words[i] = Self.word(h, slot: slot)
            used += 1
            return false
        }
        let list: SlotLists.Reference
        if let existing = Self.list(words[i]) {
            list = lists.append(existing, slot)
        } else {
            list = lists.make(Int32(truncatingIfNeeded: words[i] & 0xFFFF_FFFF) - 1, slot)
        }
        words[i] = Self.word(h, list)
        return lists.count(list) >= Self.heavyThreshold
    }

    /// Moves `slots` (every slot the table holds for `value`, as the caller verified) into `heavy`.
    mutating func promote(_ value: IndexValue, _ slots: [Int32]) {
        for slot in slots { removeFromTable(hash(value), slot) }
        heavy[value, default: []].formUnion(slots)
    }

    /// `h`: `hash(value)`, if the caller has it already.
    @inline(__always)
    mutating func remove(_ value: IndexValue, _ slot: Int32, hash h: UInt64 = .max) {
        if !heavy.isEmpty, let i = heavy.index(forKey: value), heavy.values[i].remove(slot) != nil {
            if heavy.values[i].isEmpty { heavy.remove(at: i) }
            return
        }
        removeFromTable(h == .max ? hash(value) : h, slot)
    }

    @inline(__always)
    private mutating func removeFromTable(_ h: UInt64, _ slot: Int32) {
        let (i, found) = find(h)
        precondition(found, "hash index has no entry for slot \(slot)")
        tableCount -= 1
        guard let list = Self.list(words[i]) else {
            precondition(words[i] == Self.word(h, slot: slot), "hash index has no entry for slot \(slot)")
            deleteWord(at: i)
            return
        }
        let shorter = lists.remove(list, slot)
        if lists.count(shorter) == 1 {
            words[i] = Self.word(h, slot: lists.takeOnly(shorter))
        } else {
            words[i] = Self.word(h, shorter)
        }
    }

    /// Empties word `i`, shifting later members of its cluster back so lookups never stop at the hole early.
    private mutating func deleteWord(at index: Int) {
        let mask = mask
        words.withUnsafeMutableBufferPointer { words in
            var i = index
            words[i] = 0
            var j = i
            while true {
                j = (j &+ 1) & mask
                let moving = words[j]
                if moving == 0 { break }
                let home = Int(truncatingIfNeeded: moving >> 32) & mask
                let stays = i <= j ? (i < home && home <= j) : (i < home || home <= j)
                if !stays {
                    words[i] = moving
                    words[j] = 0
                    i = j
                }
            }
        }
        used -= 1
    }

    /// Visits every slot that may hold `value` (a superset: the caller checks the record) until
    /// `body` returns false; returns false if it stopped.
    @inline(__always)
    func forEachCandidate(_ value: IndexValue, _ body: (Int32) -> Bool) -> Bool {
        if !heavy.isEmpty, let slots = heavy[value] {
            for slot in slots where !body(slot) { return false }
        }
        let (i, found) = find(hash(value))
        guard found else { return true }
        let w = words[i]
        guard let list = Self.list(w) else { return body(Int32(truncatingIfNeeded: w & 0xFFFF_FFFF) - 1) }
        return lists.forEach(list, body)
    }

    /// Starts loading the word of `value`, which an insert, remove or lookup of `value` reads
    /// next (a heavy value's set is not prefetched).
    @inline(__always)
    func prefetchRun(_ value: IndexValue) { prefetchRun(hash: hash(value)) }

    /// `prefetchRun` given the value's `hash`.
    @inline(__always)
    func prefetchRun(hash h: UInt64) {
        let i = Int(truncatingIfNeeded: h) & mask
        words.withUnsafeBufferPointer { prefetch(UnsafeRawPointer($0.baseAddress! + i)) }
    }

    /// Starts loading the list of the value whose hash is `h`, if it has one; reads its word
    /// (prefetch that first).
    @inline(__always)
    func prefetchList(hash h: UInt64) {
        let (i, found) = find(h)
        if found, let list = Self.list(words[i]) { lists.prefetchBlock(list) }
    }

    private mutating func grow() {
        let old = words
        words = ContiguousArray(repeating: 0, count: old.count * 2)
        mask = words.count - 1
        let mask = mask
        words.withUnsafeMutableBufferPointer { words in
            for w in old where w != 0 {
                var i = Int(truncatingIfNeeded: w >> 32) & mask
                while words[i] != 0 { i = (i &+ 1) & mask }
                words[i] = w
            }
        }
    }
}

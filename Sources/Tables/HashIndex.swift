// A hash secondary index: value → the slots of the records holding it, as one open-addressing
// table of 8-byte words (a 32-bit hash of the value above slot + 1; 0 marks an empty word),
// linear probing, load at most 1/2, backward-shift deletion. All records with one value sit in
// the probe run that starts at the value's home word, so a lookup reads one or two cache lines
// and an insert or remove allocates nothing. Words keep only a hash: a lookup yields candidate
// slots, and the caller checks each record's value (a hash collision costs one extra record read).
//
// A value held by many records (a flag, a zone with half the table in it) would make its run,
// and every insert or remove that crosses it, long. Once an insert finds `heavyThreshold` words
// with its hash, the caller moves that value's slots out into `heavy`, a set per value.

struct HashIndex: Sendable {
    static var heavyThreshold: Int { 32 }

    private var words: ContiguousArray<UInt64>
    private var mask: Int
    /// Words in use (excluding `heavy`).
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
        var x: UInt64
        switch value {
        case .null: x = 0x6E75_6C6C
        case .bool(let v): x = v ? 0x7472_7565 : 0x6661_6C73
        case .int(let v): x = UInt64(bitPattern: v)
        case .uint(let v): x = v
        case .string(let v): x = UInt64(bitPattern: Int64(v.hashValue))
        }
        // MurmurHash3's 64-bit finaliser: every input bit reaches the low 32 bits kept.
        x ^= seed
        x = (x ^ (x >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        x = (x ^ (x >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return (x ^ (x >> 33)) & 0xFFFF_FFFF
    }

    @inline(__always)
    private static func word(_ hash: UInt64, _ slot: Int32) -> UInt64 { hash << 32 | UInt64(UInt32(slot) + 1) }

    /// Adds `slot` under `value`; returns true when the value's run has grown long enough that
    /// the caller should `promote` it.
    @discardableResult
    mutating func insert(_ value: IndexValue, _ slot: Int32) -> Bool {
        if !heavy.isEmpty, let i = heavy.index(forKey: value) {
            heavy.values[i].insert(slot)
            return false
        }
        if (tableCount + 1) * 2 > words.count { grow() }
        let h = hash(value)
        var same = 0
        let w = Self.word(h, slot)
        let found = words.withUnsafeMutableBufferPointer { words -> Bool in
            var i = Int(truncatingIfNeeded: h) & mask
            while words[i] != 0 {
                if words[i] >> 32 == h { same += 1 }
                i = (i &+ 1) & mask
            }
            words[i] = w
            return same >= Self.heavyThreshold
        }
        tableCount += 1
        return found
    }

    /// Moves `slots` (every slot the table holds for `value`, as the caller verified) into `heavy`.
    mutating func promote(_ value: IndexValue, _ slots: [Int32]) {
        for slot in slots { removeWord(hash(value), slot) }
        heavy[value, default: []].formUnion(slots)
    }

    mutating func remove(_ value: IndexValue, _ slot: Int32) {
        if !heavy.isEmpty, let i = heavy.index(forKey: value), heavy.values[i].remove(slot) != nil {
            if heavy.values[i].isEmpty { heavy.remove(at: i) }
            return
        }
        removeWord(hash(value), slot)
    }

    private mutating func removeWord(_ h: UInt64, _ slot: Int32) {
        let w = Self.word(h, slot)
        let mask = mask
        words.withUnsafeMutableBufferPointer { words in
            var i = Int(truncatingIfNeeded: h) & mask
            while words[i] != w {
                precondition(words[i] != 0, "hash index has no entry for slot \(slot)")
                i = (i &+ 1) & mask
            }
            words[i] = 0
            // Shift later members of the run back so lookups never stop at the hole early.
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
        tableCount -= 1
    }

    /// Visits every slot that may hold `value` (a superset: the caller checks the record) until
    /// `body` returns false; returns false if it stopped.
    @inline(__always)
    func forEachCandidate(_ value: IndexValue, _ body: (Int32) -> Bool) -> Bool {
        if !heavy.isEmpty, let slots = heavy[value] {
            for slot in slots where !body(slot) { return false }
        }
        let h = hash(value)
        return words.withUnsafeBufferPointer { words -> Bool in
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let w = words[i]
                if w == 0 { return true }
                if w >> 32 == h, !body(Int32(truncatingIfNeeded: (w & 0xFFFF_FFFF) - 1)) { return false }
                i = (i &+ 1) & mask
            }
        }
    }

    /// Starts loading the first word of `value`'s probe run, which an insert, remove or lookup
    /// of `value` reads next (a heavy value's set is not prefetched).
    @inline(__always)
    func prefetchRun(_ value: IndexValue) {
        let i = Int(truncatingIfNeeded: hash(value)) & mask
        words.withUnsafeBufferPointer { prefetch(UnsafeRawPointer($0.baseAddress! + i)) }
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

// The primary index: key → slot, open addressing with linear probing and backward-shift
// deletion. Key and slot sit side by side, so a lookup usually costs one cache miss where
// `Dictionary` (separate metadata, key and value arrays) costs two or three.

struct KeyMap<Key: Hashable & Sendable>: Sendable {
    struct Bucket: Sendable {
        var key: Key
        var slot: Int32
    }

    private var buckets: ContiguousArray<Bucket?>
    private var mask: Int
    private(set) var count = 0
    /// Mixed into integer keys' hashes so that keys chosen by clients cannot aim at one run.
    private let seed: UInt64

    init() {
        buckets = ContiguousArray(repeating: nil, count: 16)
        mask = 15
        var hasher = Hasher()  // the standard library's per-process random seed
        hasher.combine(0x4B65_794D as UInt64)
        seed = UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// Integer keys (the common case) take a seeded multiply-xorshift mix, a few instructions
    /// where `hashValue` (SipHash) costs about ninety; the type tests fold away when specialised.
    @inline(__always)
    private func home(_ key: Key) -> Int {
        var x: UInt64
        if Key.self == Int64.self {
            x = UInt64(bitPattern: unsafeBitCast(key, to: Int64.self))
        } else if Key.self == Int.self {
            x = UInt64(bitPattern: Int64(unsafeBitCast(key, to: Int.self)))
        } else if Key.self == UInt64.self {
            x = unsafeBitCast(key, to: UInt64.self)
        } else {
            return key.hashValue & mask
        }
        x ^= seed
        x = (x ^ (x >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        x = (x ^ (x >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return Int(truncatingIfNeeded: x ^ (x >> 33)) & mask
    }

    /// Starts loading the bucket where a lookup of `key` begins, so that work done before the
    /// lookup (a write's index prefetches) overlaps its miss.
    @inline(__always)
    func prefetch(_ key: Key) {
        let i = home(key)
        buckets.withUnsafeBufferPointer { Tables.prefetch(UnsafeRawPointer($0.baseAddress! + i)) }
    }

    /// The bucket holding `key`, or the empty bucket where it would go.
    @inline(__always)
    private func probe(_ key: Key) -> (index: Int, found: Bool) {
        var i = home(key)
        while let bucket = buckets[i] {
            if bucket.key == key { return (i, true) }
            i = (i &+ 1) & mask
        }
        return (i, false)
    }

    subscript(key: Key) -> Int32? {
        @inline(__always) get {
            let (i, found) = probe(key)
            return found ? buckets[i]!.slot : nil
        }
        set {
            if let slot = newValue { insert(key, slot) } else { _ = remove(key) }
        }
    }

    private mutating func insert(_ key: Key, _ slot: Int32) {
        var (i, found) = probe(key)
        if !found {
            if (count + 1) * 5 > buckets.count * 3 {  // keep the load at or below 60 %
                grow()
                i = probe(key).index
            }
            count += 1
        }
        buckets[i] = Bucket(key: key, slot: slot)
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Int32? {
        var (i, found) = probe(key)
        guard found else { return nil }
        let slot = buckets[i]!.slot
        buckets[i] = nil
        count -= 1
        // Shift later members of the probe run back so lookups never stop at the hole early.
        var j = i
        while true {
            j = (j &+ 1) & mask
            guard let bucket = buckets[j] else { break }
            let k = home(bucket.key)
            let stays = i <= j ? (i < k && k <= j) : (i < k || k <= j)
            if !stays {
                buckets[i] = bucket
                buckets[j] = nil
                i = j
            }
        }
        return slot
    }

    private mutating func grow() {
        let old = buckets
        buckets = ContiguousArray(repeating: nil, count: old.count * 2)
        mask = buckets.count - 1
        for bucket in old {
            guard let bucket else { continue }
            buckets[probe(bucket.key).index] = bucket
        }
    }
}

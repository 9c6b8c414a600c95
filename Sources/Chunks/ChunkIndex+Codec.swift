// Reading and writing .caibx files, refusing what casync refuses (src/caindex.c, caformat-util.c),
// with an error that names the rule. We are stricter in one place: the first chunk must also be
// non-empty and no larger than max (casync skips that check for the first item).

extension ChunkIndex {
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.headerSize + Self.itemSize * (entries.count + 1))
        func put(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(48)
        put(Self.indexMagic)
        put(featureFlags)
        put(chunkSizeMin)
        put(chunkSizeAverage)
        put(chunkSizeMax)
        put(UInt64.max)
        put(Self.tableMagic)
        for entry in entries {
            put(entry.end)
            out.append(contentsOf: entry.id.bytes)
        }
        put(0)
        put(0)
        put(48)
        put(UInt64(16 + Self.itemSize * entries.count + Self.itemSize))
        put(Self.tailMarker)
        return out
    }

    public init(decoding bytes: [UInt8]) throws(ChunkIndexError) {
        func word(_ at: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[at + i]) }
            return v
        }
        guard bytes.count >= Self.headerSize else { throw .truncated(size: bytes.count) }
        guard word(0) == 48 else { throw .badHeaderSize(word(0)) }
        guard word(8) == Self.indexMagic else { throw .badIndexMagic(word(8)) }
        let flags = word(16)
        try Self.validate(featureFlags: flags)
        let sizes = [("min", word(24)), ("avg", word(32)), ("max", word(40))]
        for (name, value) in sizes where value < 1 || value > 128 << 20 {
            throw .chunkSizeOutOfRange(name: name, value: value)
        }
        guard sizes[0].1 <= sizes[1].1, sizes[1].1 <= sizes[2].1 else {
            throw .chunkSizesNotOrdered(min: sizes[0].1, average: sizes[1].1, max: sizes[2].1)
        }
        guard word(48) == UInt64.max else { throw .badTableSize(word(48)) }
        guard word(56) == Self.tableMagic else { throw .badTableMagic(word(56)) }

        var entries: [Entry] = []
        entries.reserveCapacity((bytes.count - Self.headerSize) / Self.itemSize)
        var at = Self.headerSize
        var previous: UInt64 = 0
        while true {
            guard at + Self.itemSize <= bytes.count else { throw .missingTail(itemsRead: entries.count) }
            if word(at + 32) == Self.tailMarker, word(at) == 0, word(at + 8) == 0 {
                guard word(at + 16) == 48 else { throw .badTail("index offset \(word(at + 16)), expected 48") }
                let expected = UInt64(16 + Self.itemSize * entries.count + Self.itemSize)
                guard word(at + 24) == expected else {
                    throw .badTail("table size \(word(at + 24)) does not match \(entries.count) items (expected \(expected))")
                }
                let trailing = bytes.count - (at + Self.itemSize)
                guard trailing == 0 else { throw .trailingBytes(trailing) }
                break
            }
            let end = word(at)
            guard end > previous else { throw .nonIncreasingOffset(item: entries.count, previous: previous, offset: end) }
            guard end - previous <= sizes[2].1 else {
                throw .chunkLargerThanMax(item: entries.count, size: end - previous, max: sizes[2].1)
            }
            entries.append(Entry(end: end, id: ChunkID(bytes: bytes[(at + 8)..<(at + 40)])))
            previous = end
            at += Self.itemSize
        }
        self.init(
            featureFlags: flags, chunkSizeMin: sizes[0].1, chunkSizeAverage: sizes[1].1, chunkSizeMax: sizes[2].1,
            entries: entries)
    }

    /// casync's ca_feature_flags_are_normalized: only known bits, and no redundant combinations.
    static func validate(featureFlags f: UInt64) throws(ChunkIndexError) {
        let unknown = f & ~Flags.known
        guard unknown == 0 else { throw .unknownFeatureFlags(unknown) }
        let uid16: UInt64 = 0x1, uid32: UInt64 = 0x2, userNames: UInt64 = 0x4
        let sec: UInt64 = 0x8, usec: UInt64 = 0x10, nsec: UInt64 = 0x20, sec2: UInt64 = 0x40
        let readOnly: UInt64 = 0x80, permissions: UInt64 = 0x100, nodump: UInt64 = 0x10_0000
        let subvolume: UInt64 = 0x400_0000, subvolumeRO: UInt64 = 0x800_0000, acl: UInt64 = 0x2000_0000
        let rules: [(Bool, String)] = [
            (f & nsec != 0 && f & (usec | sec | sec2) != 0, "nanosecond time excludes coarser time bits"),
            (f & usec != 0 && f & (sec | sec2) != 0, "microsecond time excludes coarser time bits"),
            (f & sec != 0 && f & sec2 != 0, "second time excludes 2-second time"),
            (f & (uid16 | uid32) == uid16 | uid32, "16-bit and 32-bit UIDs are exclusive"),
            (f & permissions != 0 && f & readOnly != 0, "permissions exclude read-only"),
            (f & acl != 0 && f & (permissions | readOnly) != 0, "ACL excludes permissions and read-only"),
            (f & acl != 0 && f & (uid16 | uid32 | userNames) == 0, "ACL requires a UID or user-name bit"),
            (f & Flags.excludeNoDump != 0 && f & nodump != 0, "EXCLUDE_NODUMP excludes WITH_FLAG_NODUMP"),
            (f & subvolumeRO != 0 && f & subvolume == 0, "read-only subvolume requires subvolume"),
        ]
        for (broken, rule) in rules where broken {
            throw .featureFlagsNotNormalized(f, rule: rule)
        }
    }
}

public enum ChunkIndexError: Error, Equatable, CustomStringConvertible {
    case truncated(size: Int)
    case badHeaderSize(UInt64)
    case badIndexMagic(UInt64)
    case unknownFeatureFlags(UInt64)
    case featureFlagsNotNormalized(UInt64, rule: String)
    case chunkSizeOutOfRange(name: String, value: UInt64)
    case chunkSizesNotOrdered(min: UInt64, average: UInt64, max: UInt64)
    case badTableSize(UInt64)
    case badTableMagic(UInt64)
    case nonIncreasingOffset(item: Int, previous: UInt64, offset: UInt64)
    case chunkLargerThanMax(item: Int, size: UInt64, max: UInt64)
    case missingTail(itemsRead: Int)
    case badTail(String)
    case trailingBytes(Int)

    public var description: String {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        return switch self {
        case .truncated(let size): "index truncated: \(size) bytes, a header needs 64"
        case .badHeaderSize(let v): "not a casync index: header size \(v), expected 48"
        case .badIndexMagic(let v): "not a casync index: magic \(hex(v)), expected 0x96824d9c7b129ff9"
        case .unknownFeatureFlags(let bits): "index has unknown feature flag bits \(hex(bits))"
        case .featureFlagsNotNormalized(let f, let rule): "index feature flags \(hex(f)) are not normalised: \(rule)"
        case .chunkSizeOutOfRange(let name, let value): "index chunk size \(name) \(value) outside 1…134217728"
        case .chunkSizesNotOrdered(let min, let average, let max):
            "index chunk sizes not ordered: min \(min), avg \(average), max \(max)"
        case .badTableSize(let v): "index table header size \(hex(v)), expected all-ones"
        case .badTableMagic(let v): "index table magic \(hex(v)), expected 0xe75b9e112f17417d"
        case .nonIncreasingOffset(let item, let previous, let offset):
            "index item \(item): offset \(offset) does not increase (previous \(previous))"
        case .chunkLargerThanMax(let item, let size, let max):
            "index item \(item): chunk of \(size) bytes is larger than max \(max)"
        case .missingTail(let n): "index truncated: no table tail after \(n) items"
        case .badTail(let why): "index table tail is wrong: \(why)"
        case .trailingBytes(let n): "index has \(n) trailing bytes after the table tail"
        }
    }
}

// The casync blob index (.caibx): which chunks, in which order, make up a blob.
//
// Layout (all integers u64 little-endian): INDEX record (size 48, magic, feature flags, chunk size
// min/avg/max), TABLE header (size all-ones, magic), one item per chunk (end offset, 32-byte ID),
// and a 40-byte tail (two zero words, 48, table size 16 + 40·N + 40, tail marker). Total 104 + 40·N.

public struct ChunkIndex: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        /// Offset just past this chunk in the blob: the sum of the sizes of it and every chunk before.
        public var end: UInt64
        public var id: ChunkID

        public init(end: UInt64, id: ChunkID) {
            self.end = end
            self.id = id
        }
    }

    public var featureFlags: UInt64
    public var chunkSizeMin: UInt64
    public var chunkSizeAverage: UInt64
    public var chunkSizeMax: UInt64
    public var entries: [Entry]

    public init(
        featureFlags: UInt64, chunkSizeMin: UInt64, chunkSizeAverage: UInt64, chunkSizeMax: UInt64,
        entries: [Entry]
    ) {
        self.featureFlags = featureFlags
        self.chunkSizeMin = chunkSizeMin
        self.chunkSizeAverage = chunkSizeAverage
        self.chunkSizeMax = chunkSizeMax
        self.entries = entries
    }

    /// An index for chunks cut with `parameters` and named with `digest`, flagged as `casync make`
    /// does by default (EXCLUDE_NODUMP | SHA512_256 | EXCLUDE_FILE), so our index files are byte
    /// for byte those of casync.
    public init(parameters: ChunkerParameters, digest: ChunkDigest, entries: [Entry]) {
        var flags = Flags.excludeNoDump | Flags.excludeFile
        if digest == .sha512_256 { flags |= Flags.sha512_256 }
        self.init(
            featureFlags: flags, chunkSizeMin: UInt64(parameters.chunkSizeMin),
            chunkSizeAverage: UInt64(parameters.chunkSizeAverage), chunkSizeMax: UInt64(parameters.chunkSizeMax),
            entries: entries)
    }

    public var digest: ChunkDigest { ChunkDigest(featureFlags: featureFlags) }
    public var blobSize: UInt64 { entries.last?.end ?? 0 }
    public var count: Int { entries.count }

    public func start(of i: Int) -> UInt64 { i == 0 ? 0 : entries[i - 1].end }
    public func size(of i: Int) -> Int { Int(entries[i].end - start(of: i)) }

    /// The chunker parameters the header names, if they are ones we can chunk with.
    public var parameters: ChunkerParameters? {
        try? ChunkerParameters(min: Int(chunkSizeMin), average: Int(chunkSizeAverage), max: Int(chunkSizeMax))
    }

    /// The entry holding blob byte `offset` (binary search, as casync seeks).
    public func entry(containing offset: UInt64) -> Int? {
        guard offset < blobSize else { return nil }
        var low = 0
        var high = entries.count - 1
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].end > offset { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

extension ChunkIndex {
    /// Feature flag bits (casync's caformat.h) that matter to a blob index.
    public enum Flags {
        public static let excludeFile: UInt64 = 0x1000_0000_0000_0000
        public static let sha512_256: UInt64 = 0x2000_0000_0000_0000
        public static let excludeSubmounts: UInt64 = 0x4000_0000_0000_0000
        public static let excludeNoDump: UInt64 = 0x8000_0000_0000_0000
        /// Every WITH_* archive bit, 16-bit UIDs (0x1) through quota project IDs (0x1_0000_0000).
        public static let withMask: UInt64 = 0x1_FFFF_FFFF
        /// All bits casync knows; any other bit makes it refuse the index (EOPNOTSUPP).
        public static let known: UInt64 = withMask | excludeFile | sha512_256 | excludeSubmounts | excludeNoDump
    }

    static let indexMagic: UInt64 = 0x9682_4d9c_7b12_9ff9
    static let tableMagic: UInt64 = 0xe75b_9e11_2f17_417d
    static let tailMarker: UInt64 = 0x4b4f_050e_5549_ecd1
    static let headerSize = 64
    static let itemSize = 40
}

// The chunker against casync's rules, stated as data: the buzhash table's fingerprint, the
// discriminator table, the cut at exactly min, the forced cut at max, fixed-size chunking, and the
// reset at every cut (chunks re-synchronise after an edit). casync itself is the oracle in InteropTests.
@testable import Chunks
import ChunksTesting
import Testing

@Suite struct ChunkerTests {
    @Test func buzhashTableFingerprint() {
        let table = BuzHash.table
        #expect(table.count == 256)
        #expect(table.first == 0x458b_e752)
        #expect(table.last == 0xd95d_df11)
        #expect(table.reduce(0, ^) == 0)
        var bytes: [UInt8] = []
        for v in table { for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
        #expect(ChunkDigest.sha256.id(of: bytes).hex == "5b52080d38287da9d2e278466e3e0db7ec98e5e8b226f50612a56fa012b1f660")
    }

    @Test(arguments: [
        (16 << 10, 12318), (32 << 10, 24680), (64 << 10, 49535), (128 << 10, 99777), (256 << 10, 202440),
        (512 << 10, 416942), (1 << 20, 886711), (2 << 20, 2_030_716), (4 << 20, 5_721_670),
    ])
    func discriminator(average: Int, expected: Int) {
        #expect(ChunkerParameters.discriminator(average: average) == expected)
    }

    @Test func defaultParameters() {
        let p = ChunkerParameters.default
        #expect((p.chunkSizeMin, p.chunkSizeAverage, p.chunkSizeMax) == (16384, 65536, 262_144))
        #expect(p.discriminator == 49535)
    }

    @Test func parameterErrorsNameTheRule() {
        #expect(throws: ChunkerParametersError.notOrdered(min: 64 << 10, average: 16 << 10, max: 256 << 10)) {
            try ChunkerParameters(desyncKiB: "64:16:256")
        }
        #expect(throws: ChunkerParametersError.malformed("16:64")) { try ChunkerParameters(desyncKiB: "16:64") }
        #expect(throws: ChunkerParametersError.outOfRange(name: "max", value: 256 << 20)) {
            try ChunkerParameters(desyncKiB: "16:64:262144")
        }
        #expect(throws: ChunkerParametersError.maxBelowWindow(max: 40)) { try ChunkerParameters(min: 16, average: 32, max: 40) }
    }

    /// The rolling update equals a fresh hash of the window at every position.
    @Test func rollingHashMatchesWindowHash() {
        let data = randomBytes(4096, seed: 7)
        data.withUnsafeBytes { bytes in
            var h = BuzHash.windowHash(bytes, end: 48)
            for end in 49...bytes.count {
                h = BuzHash.rotateLeft(h, by: 1) ^ BuzHash.leavingTable[Int(bytes[end - 49])] ^ BuzHash.table[Int(bytes[end - 1])]
                #expect(h == BuzHash.windowHash(bytes, end: end))
                if h != BuzHash.windowHash(bytes, end: end) { break }
            }
        }
    }

    /// A reference chunker written straight from the rules, hashing every window from scratch.
    func referenceCuts(_ data: [UInt8], _ p: ChunkerParameters) -> [Int] {
        data.withUnsafeBytes { bytes in
            var cuts: [Int] = []
            var start = 0
            while start < bytes.count {
                var cut = bytes.count
                var size = max(p.chunkSizeMin, 48)
                while start + size <= bytes.count {
                    let h = BuzHash.windowHash(bytes, end: start + size)
                    if size >= p.chunkSizeMax || UInt64(h) % UInt64(p.discriminator) == UInt64(p.discriminator) - 1 {
                        cut = start + size
                        break
                    }
                    size += 1
                }
                cuts.append(cut)
                start = cut
            }
            return cuts
        }
    }

    @Test(arguments: [(1, "1:2:8"), (2, "1:4:16"), (3, "2:4:8"), (4, "4:4:4")])
    func matchesReferenceChunker(seed: UInt64, sizes: String) throws {
        let p = try ChunkerParameters(desyncKiB: sizes)
        var data = randomBytes(200_000, seed: seed)
        data.replaceSubrange(50_000..<90_000, with: repeatElement(0, count: 40_000))
        let cuts = data.withUnsafeBytes { Chunker.cuts($0, parameters: p) }
        #expect(cuts == referenceCuts(data, p))
    }

    /// A window ending at exactly `min` that satisfies the cut condition makes a chunk of exactly `min`.
    @Test func cutAtExactlyMin() throws {
        let p = ChunkerParameters.default
        let data = minCutInput(parameters: p, size: 300_000, seed: 11)
        let cuts = data.withUnsafeBytes { Chunker.cuts($0, parameters: p) }
        #expect(cuts.first == p.chunkSizeMin)
    }

    @Test func zerosCutAtMax() {
        let p = ChunkerParameters.default
        let data = [UInt8](repeating: 0, count: 1_000_000)
        let cuts = data.withUnsafeBytes { Chunker.cuts($0, parameters: p) }
        #expect(cuts == [262_144, 524_288, 786_432, 1_000_000])
    }

    @Test func tinyInputs() {
        let p = ChunkerParameters.default
        #expect([UInt8]().withUnsafeBytes { Chunker.cuts($0, parameters: p) } == [])
        #expect([UInt8](repeating: 9, count: 1).withUnsafeBytes { Chunker.cuts($0, parameters: p) } == [1])
        #expect(randomBytes(16384, seed: 3).withUnsafeBytes { Chunker.cuts($0, parameters: p) } == [16384])
    }

    /// Content-defined chunking: after a local edit, the chunk table re-synchronises.
    @Test func chunksResynchroniseAfterAnEdit() throws {
        let p = try ChunkerParameters(desyncKiB: "2:8:32")
        let original = randomBytes(400_000, seed: 5)
        var edited = original
        edited.insert(contentsOf: [1, 2, 3, 4, 5], at: 100_000)
        let a = original.withUnsafeBytes { Chunker.cuts($0, parameters: p) }
        let b = edited.withUnsafeBytes { Chunker.cuts($0, parameters: p) }
        let shiftedTail = Set(a.filter { $0 > 150_000 }.map { $0 + 5 })
        #expect(shiftedTail.isSubset(of: Set(b)))
        #expect(Set(a.filter { $0 < 100_000 }).isSubset(of: Set(b)))
    }
}


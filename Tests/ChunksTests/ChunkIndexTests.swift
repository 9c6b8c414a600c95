// The .caibx codec: round trips, casync's exact layout, and each rule casync applies on read,
// checked by corrupting one field of a valid index at a time.
@testable import Chunks
import ChunksTesting
import Testing

@Suite struct ChunkIndexTests {
    func sampleIndex(_ n: Int) -> ChunkIndex {
        let entries = (0..<n).map { (i: Int) -> ChunkIndex.Entry in
            let seed: [UInt8] = [UInt8(i & 255), UInt8(i >> 8)]
            return ChunkIndex.Entry(end: UInt64(20_000 * (i + 1)), id: ChunkDigest.sha512_256.id(of: seed))
        }
        return ChunkIndex(parameters: .default, digest: .sha512_256, entries: entries)
    }

    func word(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    func check(_ mutate: (inout [UInt8]) -> Void, fails expected: ChunkIndexError) {
        var bytes = sampleIndex(3).encoded()
        mutate(&bytes)
        #expect(throws: expected) { try ChunkIndex(decoding: bytes) }
    }

    @Test(arguments: [0, 1, 2, 1000])
    func roundTrip(n: Int) throws {
        let index = sampleIndex(n)
        let bytes = index.encoded()
        #expect(bytes.count == 104 + 40 * n)
        #expect(try ChunkIndex(decoding: bytes) == index)
    }

    @Test func layoutIsCasyncs() {
        let bytes = sampleIndex(1).encoded()
        #expect(Array(bytes[0..<8]) == word(48))
        #expect(Array(bytes[8..<16]) == [0xf9, 0x9f, 0x12, 0x7b, 0x9c, 0x4d, 0x82, 0x96])
        #expect(Array(bytes[16..<24]) == word(0xB000_0000_0000_0000))
        #expect(Array(bytes[48..<56]) == [UInt8](repeating: 0xff, count: 8))
        #expect(Array(bytes[104..<120]) == [UInt8](repeating: 0, count: 16))
        #expect(Array(bytes[120..<128]) == word(48))
        #expect(Array(bytes[128..<136]) == word(16 + 40 + 40))
        #expect(Array(bytes[136..<144]) == [0xd1, 0xec, 0x49, 0x55, 0x0e, 0x05, 0x4f, 0x4b])
    }

    @Test func sha256IndexClearsTheDigestBit() {
        let index = ChunkIndex(parameters: .default, digest: .sha256, entries: [])
        #expect(index.featureFlags == 0x9000_0000_0000_0000)
        #expect(index.digest == .sha256)
    }

    @Test func rejectsWhatCasyncRejects() {
        check({ $0.removeLast(10) }, fails: .missingTail(itemsRead: 3))
        check({ $0 = Array($0[0..<30]) }, fails: .truncated(size: 30))
        check({ $0[0] = 47 }, fails: .badHeaderSize(47))
        check({ $0[8] ^= 1 }, fails: .badIndexMagic(0x9682_4d9c_7b12_9ff8))
        check({ $0[21] = 0x01 }, fails: .unknownFeatureFlags(0x0100_0000_0000))
        check({ $0.replaceSubrange(16..<24, with: word(0xB000_0000_0000_0003)) },
              fails: .featureFlagsNotNormalized(0xB000_0000_0000_0003, rule: "16-bit and 32-bit UIDs are exclusive"))
        check({ $0.replaceSubrange(16..<24, with: word(0x8000_0000_0010_0000)) },
              fails: .featureFlagsNotNormalized(0x8000_0000_0010_0000, rule: "EXCLUDE_NODUMP excludes WITH_FLAG_NODUMP"))
        check({ $0.replaceSubrange(24..<32, with: word(0)) }, fails: .chunkSizeOutOfRange(name: "min", value: 0))
        check({ $0.replaceSubrange(24..<32, with: word(100_000)) },
              fails: .chunkSizesNotOrdered(min: 100_000, average: 65536, max: 262_144))
        check({ $0[48] = 0 }, fails: .badTableSize(0xffff_ffff_ffff_ff00))
        check({ $0[56] ^= 2 }, fails: .badTableMagic(0xe75b_9e11_2f17_417f))
        check({ $0.replaceSubrange(104..<112, with: word(20_000)) },
              fails: .nonIncreasingOffset(item: 1, previous: 20_000, offset: 20_000))
        check({ $0.replaceSubrange(144..<152, with: word(400_000)) },
              fails: .chunkLargerThanMax(item: 2, size: 360_000, max: 262_144))
        check({ $0.replaceSubrange(64..<72, with: word(300_000)) },
              fails: .chunkLargerThanMax(item: 0, size: 300_000, max: 262_144))
        check({ $0.append(0) }, fails: .trailingBytes(1))
        check({ $0.replaceSubrange(200..<208, with: word(49)) }, fails: .badTail("index offset 49, expected 48"))
        check({ $0.replaceSubrange(208..<216, with: word(1)) },
              fails: .badTail("table size 1 does not match 3 items (expected 176)"))
    }

    @Test func randomBytesAreRejected() {
        for seed in 0..<50 as Range<UInt64> {
            let bytes = randomBytes(Int(seed) * 37 + 5, seed: seed)
            #expect(throws: ChunkIndexError.self) { try ChunkIndex(decoding: bytes) }
        }
    }

    @Test func errorsReadWell() {
        let error = ChunkIndexError.nonIncreasingOffset(item: 4, previous: 100, offset: 90)
        #expect(error.description == "index item 4: offset 90 does not increase (previous 100)")
    }

    @Test func entryContainingOffset() {
        let index = sampleIndex(5)
        #expect(index.entry(containing: 0) == 0)
        #expect(index.entry(containing: 19_999) == 0)
        #expect(index.entry(containing: 20_000) == 1)
        #expect(index.entry(containing: 99_999) == 4)
        #expect(index.entry(containing: 100_000) == nil)
    }
}

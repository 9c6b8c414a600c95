// The hasher's vector lanes (CSHA512) must give every chunk the ID one stream gives it, whatever the
// mix of lengths around SHA-512's block (128 bytes) and padding (112) edges, and however many chunks
// share the lanes — lanes that finish take the next chunk, longest first.
import Chunks
@testable import ChunkStores
import ChunksTesting
import Foundation
import Testing

@Suite struct HasherLanesTests {
    /// Whether this CPU has AVX-512 F and BW, from the kernel's flags rather than the code under test.
    static let cpuHasLanes: Bool = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let words = Set(flags.split(separator: " "))
        return words.contains("avx512f") && words.contains("avx512bw")
    }()

    /// Lanes are on unless the environment turns them off.
    static let lanesExpected = cpuHasLanes && getenv("KURA_HASH_LANES").map { String(cString: $0) } != "0"

    @Test func lanesAreUsedWhereTheCPUHasThem() {
        #expect(ChunkHasher(.sha512_256).usesLanes == Self.lanesExpected)
        #expect(!ChunkHasher(.sha256).usesLanes)
    }

    @Test(arguments: [1, 2, 3, 8, 9, 17, 40])
    func batchesAgreeWithOneStream(count: Int) {
        var lengths = [0, 1, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 65_536]
        var seed: UInt64 = 7
        while lengths.count < 3 * count {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            lengths.append(Int(seed >> 48) % 300_000)
        }
        let chunks = (0..<count).map { randomBytes(lengths[($0 * 7) % lengths.count], seed: UInt64($0)) }
        for digest in ChunkDigest.allCases {
            let hasher = ChunkHasher(digest)
            let ids = withBuffers(chunks) { hasher.ids(of: $0) }
            #expect(ids == chunks.map { digest.id(of: $0) }, "\(digest), \(count) chunks")
        }
    }

    /// Every length from 0 to 300 bytes in one batch: each padding case, in every lane.
    @Test func everyShortLength() {
        let chunks = (0...300).map { randomBytes($0, seed: UInt64(1000 + $0)) }
        let ids = withBuffers(chunks) { ChunkHasher(.sha512_256).ids(of: $0) }
        #expect(ids == chunks.map { ChunkDigest.sha512_256.id(of: $0) })
    }

    /// The stream (extract's runs): chunks added one at a time, digests asked for at random points,
    /// always of a prefix of the chunks; every one asked for is written, and right.
    @Test(.enabled(if: lanesExpected, "needs AVX-512 and lanes not turned off"))
    func streamFinishesWhatIsAskedFor() throws {
        let lanes = try #require(LaneStream(.sha512_256))
        #expect(LaneStream(.sha256) == nil)
        let chunks = (0..<120).map { randomBytes(($0 * 7919) % 140_000, seed: UInt64(500 + $0)) }
        let digests = UnsafeMutablePointer<UInt64>.allocate(capacity: 4 * chunks.count)
        defer { digests.deallocate() }
        digests.initialize(repeating: 0, count: 4 * chunks.count)
        var seed: UInt64 = 3
        withBuffers(chunks) { buffers in
            for (k, buffer) in buffers.enumerated() {
                #expect(lanes.add(buffer, digest: digests + 4 * k) == UInt64(k))
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                guard seed >> 61 == 0 else { continue }
                let through = Int(seed >> 20) % (k + 1)
                lanes.finish(through: UInt64(through))
                for j in 0...through {
                    let d = digests + 4 * j
                    #expect(ChunkID(words: (d[0], d[1], d[2], d[3])) == ChunkDigest.sha512_256.id(of: chunks[j]), "chunk \(j)")
                }
            }
            lanes.finish(through: UInt64(chunks.count - 1))
        }
        for j in chunks.indices {
            let d = digests + 4 * j
            #expect(ChunkID(words: (d[0], d[1], d[2], d[3])) == ChunkDigest.sha512_256.id(of: chunks[j]), "chunk \(j)")
        }
    }

    func withBuffers<T>(_ chunks: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) -> T) -> T {
        let copies = chunks.map { chunk in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk.count, alignment: 1)
            buffer.copyBytes(from: chunk)
            return UnsafeRawBufferPointer(buffer)
        }
        defer { copies.forEach { $0.deallocate() } }
        return body(copies)
    }
}

// extract's fast path from a file-system store: chunk files read into reused buffers, decoded straight
// into a worker's output run, written a run at a time. It must rebuild the blob exactly whatever the
// mix of forms, repeats, zero chunks and run boundaries, and still check every chunk it reads.
import Chunks
import ChunkStores
import ChunksTesting
import Foundation
import Testing

@Suite struct FastPathTests {
    let parameters = try! ChunkerParameters(desyncKiB: "1:4:16")

    /// Several MiB, so the output runs (2 MiB) fill and flush mid-batch; repeats and zero runs break
    /// contiguity; the mesh-like part compresses (real zstd blocks), the random part does not.
    func blob() -> [UInt8] {
        let block = randomBytes(40_000, seed: 31)
        return randomBytes(1_500_000, seed: 32) + block + [UInt8](repeating: 0, count: 70_000) + meshLikeBytes(2_000_000, seed: 33)
            + block + randomBytes(900_000, seed: 34) + block
    }

    func make(_ data: [UInt8], store: FileSystemChunkStore) throws -> ChunkIndex {
        try data.withUnsafeBytes { try IndexMaker.make($0, parameters: parameters, digest: .sha512_256, store: store, workers: 2).0 }
    }

    func chunkPath(_ store: FileSystemChunkStore, _ id: ChunkID) -> String {
        store.path(of: id, form: store.form)
    }

    @Test(arguments: [ChunkForm.compressed, .uncompressed], [1, 2, 3])
    func rebuildsTheBlobExactly(form: ChunkForm, workers: Int) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try FileSystemChunkStore(root: dir.file("store"), form: form)
        let data = blob()
        let index = try make(data, store: store)
        let statistics = try Extractor.extract(index: index, store: store, seeds: [], target: dir.file("out"), workers: workers)
        #expect(try dir.read("out") == data)
        #expect(statistics.chunks == index.count)
        let max = Int(index.chunkSizeMax)
        let zeroID = ChunkDigest.sha512_256.id(of: [UInt8](repeating: 0, count: max))
        let zeroChunks = index.entries.indices.filter { index.size(of: $0) == max && index.entries[$0].id == zeroID }
        #expect(zeroChunks.count > 0)  // the zero run is left as holes, which breaks the output runs
        #expect(statistics.chunksOfZeros == zeroChunks.count)
        #expect(statistics.chunksFromStore + statistics.chunksOfZeros == index.count)
    }

    @Test func hasherAgreesWithSwiftCrypto() {
        for digest in ChunkDigest.allCases {
            let hasher = ChunkHasher(digest)
            for size in [0, 1, 111, 112, 127, 128, 129, 1000, 65_536, 262_144 + 7] {
                let data = randomBytes(size, seed: UInt64(size))
                #expect(data.withUnsafeBytes { hasher.id(of: $0) } == digest.id(of: data), "\(digest) \(size) bytes")
            }
        }
    }

    /// Each way a chunk file can be wrong is caught on the fast path and named.
    @Test(arguments: [
        ("swapped", "is invalid: content hashes to"),
        ("truncated", "is invalid: zstd"),
        ("garbage", "is invalid: not a zstd frame"),
        ("longer", "is invalid: zstd frame declares"),
    ])
    func badChunkFileIsCaught(damage: String, problem: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try FileSystemChunkStore(root: dir.file("store"))
        let data = randomBytes(200_000, seed: 35)
        let index = try make(data, store: store)
        let victim = index.entries[3].id
        let path = chunkPath(store, victim)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let replacement: [UInt8] = switch damage {
        case "swapped": randomBytes(index.size(of: 3), seed: 39).withUnsafeBytes { ChunkCodec().compress($0) }
        case "truncated": Array(original.dropLast(10))
        case "garbage": randomBytes(original.count, seed: 36)
        default: randomBytes(index.size(of: 3) + 1, seed: 37).withUnsafeBytes { ChunkCodec().compress($0) }
        }
        try FileManager.default.removeItem(atPath: path)
        try Data(replacement).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Extractor.extract(index: index, store: store, seeds: [], target: dir.file("out"), workers: 2)
            Issue.record("extract with a \(damage) chunk succeeded")
        } catch {
            #expect("\(error)".contains("chunk \(victim) \(problem)"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
    }

    @Test func wrongSizedUncompressedChunkIsCaught() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try FileSystemChunkStore(root: dir.file("store"), form: .uncompressed)
        let index = try make(randomBytes(100_000, seed: 38), store: store)
        let victim = index.entries[2].id
        let path = chunkPath(store, victim)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.append(0)
        try FileManager.default.removeItem(atPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            try Extractor.extract(index: index, store: store, seeds: [], target: dir.file("out"), workers: 2)
        } throws: { "\($0)".contains("chunk \(victim) is invalid: holds \(bytes.count) bytes") }
    }

    /// A bad chunk early in a long extract (one worker, so the run holding it is completed when the
    /// ring of runs comes back to it, not at the final flush), in runs that mix seed chunks with
    /// store chunks and runs cut at their chunk limit: extract fails naming it and leaves no target.
    @Test func badChunkMidStreamIsCaught() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try FileSystemChunkStore(root: dir.file("store"))
        let data = randomBytes(4_000_000, seed: 41)
        let index = try make(data, store: store)
        try #require(index.count > 500)  // ~4 KiB chunks: many runs cut at 64 chunks
        // A seed holding every other chunk of the first half, so runs mix verified and unverified chunks.
        var seedBytes = [UInt8]()
        for i in stride(from: 0, to: index.count / 2, by: 2) {
            let start = Int(index.start(of: i))
            seedBytes += data[start..<Int(index.entries[i].end)]
        }
        try dir.write("seed", seedBytes)
        // Cutting whole chunks again gives the same chunks: each cut depends only on the bytes since the last.
        let seedIndex = try seedBytes.withUnsafeBytes {
            try IndexMaker.make($0, parameters: parameters, digest: .sha512_256, store: nil, workers: 1).0
        }
        let victim = index.entries[7].id
        let path = chunkPath(store, victim)
        try FileManager.default.removeItem(atPath: path)
        let impostor = randomBytes(index.size(of: 7), seed: 42).withUnsafeBytes { ChunkCodec().compress($0) }
        try Data(impostor).write(to: URL(fileURLWithPath: path))
        do {
            let seed = Seed(index: seedIndex, file: try MappedFile(path: dir.file("seed")))
            _ = try Extractor.extract(index: index, store: store, seeds: [seed], target: dir.file("out"), workers: 1)
            Issue.record("extract with a bad chunk succeeded")
        } catch {
            #expect("\(error)".contains("chunk \(victim) is invalid: content hashes to"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".partial") } == [])
    }
}

// extract: the output is the blob or nothing. Seeds and the existing target supply chunks; a missing
// or corrupt chunk fails the run, names the chunk, leaves no file under the target name and never
// touches an existing target.
import Chunks
import ChunkStores
import ChunksTesting
import Foundation
import Testing

@Suite struct ExtractorTests {
    let parameters = try! ChunkerParameters(desyncKiB: "1:4:16")

    func make(_ data: [UInt8], into store: MemoryChunkStore) throws -> ChunkIndex {
        try data.withUnsafeBytes {
            try IndexMaker.make($0, parameters: parameters, digest: .sha512_256, store: store, workers: 2).0
        }
    }

    func extract(_ index: ChunkIndex, _ store: some ChunkStore, to target: String, seeds: [Seed] = []) throws -> ExtractStatistics {
        try Extractor.extract(index: index, store: store, seeds: seeds, target: target, workers: 3)
    }

    func leftovers(_ dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
    }

    @Test func roundTripWithRepeatsAndZeros() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let block = randomBytes(50_000, seed: 1)
        let data = block + [UInt8](repeating: 0, count: 100_000) + block + randomBytes(1234, seed: 2)
        let store = MemoryChunkStore()
        let index = try make(data, into: store)
        let statistics = try extract(index, store, to: dir.file("out"))
        #expect(try dir.read("out") == data)
        #expect(statistics.chunks == index.count)
        #expect(statistics.chunksOfZeros > 0)
        #expect(try leftovers(dir) == [])
    }

    @Test func missingChunkLeavesNothingAndNamesTheChunk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = MemoryChunkStore()
        let index = try make(randomBytes(100_000, seed: 3), into: store)
        let victim = index.entries[2].id
        store.remove(victim)
        #expect(throws: ExtractError.self) { try extract(index, store, to: dir.file("out")) }
        do {
            _ = try extract(index, store, to: dir.file("out"))
        } catch {
            #expect("\(error)".contains("chunk \(victim) is missing"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
        #expect(try leftovers(dir) == [])
    }

    @Test func corruptChunkNeverDamagesAnExistingTarget() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = MemoryChunkStore()
        let index = try make(randomBytes(100_000, seed: 4), into: store)
        let victim = index.entries[1].id
        store.overwrite(StoredChunk(id: victim, form: .compressed, bytes: try store.chunk(index.entries[0].id).bytes))
        let before = randomBytes(5000, seed: 5)
        try dir.write("out", before)
        do {
            _ = try extract(index, store, to: dir.file("out"))
            Issue.record("extract with a corrupt chunk succeeded")
        } catch {
            #expect("\(error)".contains("chunk \(victim) is invalid"))
        }
        #expect(try dir.read("out") == before)
        #expect(try leftovers(dir) == [])
    }

    @Test func seedsSupplyChunksTheStoreLacks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let v1 = randomBytes(300_000, seed: 6)
        var v2 = v1
        v2.replaceSubrange(150_000..<150_100, with: randomBytes(100, seed: 7))
        let seedStore = MemoryChunkStore()
        let seedIndex = try make(v1, into: seedStore)
        try dir.write("v1", v1)
        let store = MemoryChunkStore()
        let index = try make(v2, into: store)
        // Leave in the store only the chunks v1 does not have.
        let v1IDs = Set(seedIndex.entries.map(\.id))
        for entry in index.entries where v1IDs.contains(entry.id) { store.remove(entry.id) }
        let seed = Seed(index: seedIndex, file: try MappedFile(path: dir.file("v1")))
        let statistics = try extract(index, store, to: dir.file("v2"), seeds: [seed])
        #expect(try dir.read("v2") == v2)
        #expect(statistics.chunksFromSeeds > 0 && statistics.chunksFromStore > 0)
    }

    @Test func existingTargetIsASeed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let v1 = randomBytes(300_000, seed: 8)
        var v2 = v1
        v2.insert(contentsOf: randomBytes(77, seed: 9), at: 200_000)
        let store = MemoryChunkStore()
        let index = try make(v2, into: store)
        try dir.write("out", v1)
        // Only the chunks around the edit remain in the store; the rest must come from the old file.
        let v1Index = try make(v1, into: MemoryChunkStore())
        let reusable = Set(v1Index.entries.map(\.id))
        for entry in index.entries where reusable.contains(entry.id) { store.remove(entry.id) }
        let statistics = try extract(index, store, to: dir.file("out"))
        #expect(try dir.read("out") == v2)
        #expect(statistics.chunksFromSeeds == index.entries.filter { reusable.contains($0.id) }.count)
    }

    @Test func chopChecksTheFileAgainstTheIndex() throws {
        let data = randomBytes(100_000, seed: 10)
        let index = try make(data, into: MemoryChunkStore())
        var other = data
        other[50_000] ^= 1
        let store = MemoryChunkStore()
        #expect(throws: ChunkStoreError.self) {
            try other.withUnsafeBytes { try IndexMaker.chop($0, index: index, store: store, workers: 2) }
        }
        let statistics = try data.withUnsafeBytes { try IndexMaker.chop($0, index: index, store: store, workers: 2) }
        #expect(statistics.chunks == index.count)
        #expect(Set(store.allChunkIDs()) == Set(index.entries.map(\.id)))
    }
}

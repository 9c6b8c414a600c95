// Both chunk stores pass the one conformance check; the file-system store also keeps casync's layout.
import Chunks
import ChunkStores
import ChunksTesting
import Foundation
import Testing

@Suite struct StoreTests {
    @Test(arguments: [ChunkForm.compressed, .uncompressed])
    func memoryStoreConforms(form: ChunkForm) {
        #expect(checkPrunableChunkStore(MemoryChunkStore(form: form)) == [])
    }

    @Test(arguments: [ChunkForm.compressed, .uncompressed])
    func fileSystemStoreConforms(form: ChunkForm) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(checkPrunableChunkStore(try FileSystemChunkStore(root: dir.file("store"), form: form)) == [])
    }

    @Test func fileSystemLayoutIsCasyncs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try FileSystemChunkStore(root: dir.file("store"), fsync: .always)
        let data = randomBytes(5000, seed: 1)
        let id = ChunkDigest.sha512_256.id(of: data)
        try store.store(data.withUnsafeBytes { ChunkCodec().encode($0, id: id, form: .compressed) })
        let path = dir.file("store/\(id.hex.prefix(4))/\(id.hex).cacnk")
        #expect(FileManager.default.fileExists(atPath: path))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o444)
        // No temporary file is left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.file("store/\(id.hex.prefix(4))"))
        #expect(names == ["\(id.hex).cacnk"])
    }

    @Test func storeReadsTheOtherForm() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let raw = try FileSystemChunkStore(root: dir.file("s"), form: .uncompressed)
        let data = randomBytes(5000, seed: 2)
        let id = ChunkDigest.sha512_256.id(of: data)
        try raw.store(StoredChunk(id: id, form: .uncompressed, bytes: data))
        let compressed = try FileSystemChunkStore(root: dir.file("s"), form: .compressed)
        #expect(try compressed.contains(id))
        #expect(try compressed.chunk(id).form == .uncompressed)
    }

    @Test func unreadableStoreIsUnavailableNotMissing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("plainfile", [1])
        #expect(throws: ChunkStoreError.self) { try FileSystemChunkStore(root: dir.file("plainfile")) }
    }
}

@Suite struct FreshStoreTests {
    @Test func aStoreThisInstanceCreatedAnswersContainsForItsOwnChunks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let fresh = try FileSystemChunkStore(root: dir.file("store"))
        let chunks = (0..<3).map { seed in
            randomBytes(2000, seed: UInt64(seed)).withUnsafeBytes {
                ChunkCodec().encode($0, id: ChunkDigest.sha512_256.id(of: $0), form: .compressed)
            }
        }
        try fresh.store(chunks[0])
        #expect(try fresh.contains(chunks[0].id))
        #expect(try !fresh.contains(chunks[1].id))
        // A second instance on the existing store looks on disk, and sees what either wrote.
        let existing = try FileSystemChunkStore(root: dir.file("store"))
        try existing.store(chunks[2])
        #expect(try existing.contains(chunks[0].id))
        #expect(try existing.contains(chunks[2].id))
        try fresh.remove(chunks[0].id)
        #expect(try !fresh.contains(chunks[0].id))
    }
}

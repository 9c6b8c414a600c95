// The background syncfs of a file-system store: when it starts, and that a store using it stays whole.
import Chunks
import ChunksTesting
import Dispatch
import Testing

@testable import ChunkStores
import Locks

@Suite struct WriteBehindTests {
    @Test func startsOnePerCrossedIntervalWhenIdle() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let writeBehind = try #require(WriteBehind(path: dir.path, interval: 100))
        writeBehind.wrote(50)
        #expect(writeBehind.started.load(ordering: .relaxed) == 0)
        writeBehind.wrote(60)  // crosses 100
        #expect(writeBehind.started.load(ordering: .relaxed) == 1)
        try writeBehind.finish()  // waits for it
        writeBehind.wrote(250)  // 110 → 360 crosses 200 and 300: one syncfs, not one per interval
        #expect(writeBehind.started.load(ordering: .relaxed) == 2)
        writeBehind.wrote(10)  // no crossing
        try writeBehind.finish()
        #expect(writeBehind.started.load(ordering: .relaxed) == 2)
    }

    @Test func needsAnExistingDirectory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(WriteBehind(path: dir.file("missing"), interval: 1) == nil)
    }

    @Test func storeWritingFromTwoThreadsWithWriteBehindKeepsEveryChunk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try FileSystemChunkStore(root: dir.file("store"), writeBehindInterval: 1)
        let chunks = (0..<64).map { seed in
            let data = randomBytes(3000 + seed, seed: UInt64(seed))
            return data.withUnsafeBytes { ChunkCodec().encode($0, id: ChunkDigest.sha512_256.id(of: $0), form: .compressed) }
        }
        let failures = SanitizedMutex<[ChunkStoreError]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            for chunk in chunks[(half * 32)..<(half * 32 + 32)] {
                do throws(ChunkStoreError) { try store.store(chunk) } catch { failures.withLock { $0.append(error) } }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        try store.flush()
        for chunk in chunks {
            #expect(try store.chunk(chunk.id).bytes == chunk.bytes)
        }
    }
}

extension WriteBehindTests {
    @Test func droppedWhileASyncIsInFlightCloses() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        for _ in 0..<20 {
            let writeBehind = try #require(WriteBehind(path: dir.path, interval: 1))
            writeBehind.wrote(1)  // starts a syncfs; the last reference may then go on its queue
        }
    }
}

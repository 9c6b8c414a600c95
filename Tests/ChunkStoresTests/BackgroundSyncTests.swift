// The background syncfs of a file-system store: when it starts, and that a store using it stays whole.
import Chunks
import ChunksTesting
import Dispatch
import Testing

@testable import ChunkStores
import Locks

@Suite struct BackgroundSyncTests {
    @Test func startsOnePerCrossedIntervalWhenIdle() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let backgroundSync = try #require(BackgroundSync(path: dir.path, interval: 100))
        backgroundSync.wrote(50)
        #expect(backgroundSync.started.load(ordering: .relaxed) == 0)
        backgroundSync.wrote(60)  // crosses 100
        #expect(backgroundSync.started.load(ordering: .relaxed) == 1)
        try backgroundSync.finish()  // waits for it
        backgroundSync.wrote(250)  // 110 → 360 crosses 200 and 300: one syncfs, not one per interval
        #expect(backgroundSync.started.load(ordering: .relaxed) == 2)
        backgroundSync.wrote(10)  // no crossing
        try backgroundSync.finish()
        #expect(backgroundSync.started.load(ordering: .relaxed) == 2)
    }

    @Test func needsAnExistingDirectory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(BackgroundSync(path: dir.file("missing"), interval: 1) == nil)
    }

    @Test func storeWritingFromTwoThreadsWithBackgroundSyncKeepsEveryChunk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try FileSystemChunkStore(root: dir.file("store"), backgroundSyncInterval: 1)
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

extension BackgroundSyncTests {
    @Test func droppedWhileASyncIsInFlightCloses() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        for _ in 0..<20 {
            let backgroundSync = try #require(BackgroundSync(path: dir.path, interval: 1))
            backgroundSync.wrote(1)  // starts a syncfs; the last reference may then go on its queue
        }
    }
}

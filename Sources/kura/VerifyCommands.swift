import ArgumentParser
import ChunkStores
import Chunks
import Dispatch
import Synchronization
import Locks

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-hash every chunk in a store and name each bad one.")

    @Option(name: .short, help: "Chunk store directory.")
    var s: String

    @Flag(name: [.customShort("r"), .long], help: "Remove bad chunks.")
    var repair = false

    @OptionGroup var concurrency: ConcurrencyOption

    func run() throws {
        let workers = try concurrency.workers
        let store = try openStore(s, create: false)
        let ids = try store.allChunkIDs()
        let bad = Self.badChunks(ids, in: store, workers: workers)
        for (id, error) in bad.sorted(by: { $0.0 < $1.0 }) {
            if repair {
                try store.remove(id)
                printError("removed \(id): \(error)")
            } else {
                printError("bad chunk \(id): \(error)")
            }
        }
        printError("\(ids.count) chunks checked, \(bad.count) bad\(repair && !bad.isEmpty ? ", removed" : "")")
        if !bad.isEmpty && !repair { throw ExitCode(1) }
    }

    /// Chunks that fail to decode or hash to neither digest (casync, too, accepts either when the
    /// store does not say which it uses). Each worker decodes a batch of chunks and hashes them
    /// together (ChunkHasher's lanes); only a chunk that is not SHA-512/256 is hashed again as SHA-256.
    static func badChunks(_ ids: [ChunkID], in store: FileSystemChunkStore, workers: Int) -> [(ChunkID, ChunkStoreError)] {
        let next = Atomic<Int>(0)
        let bad = SanitizedMutex<[(ChunkID, ChunkStoreError)]>([])
        let batch = 32
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let codec = ChunkCodec()
            let hasher = ChunkHasher(.sha512_256)
            var found: [(ChunkID, ChunkStoreError)] = []
            while true {
                let first = next.wrappingAdd(batch, ordering: .relaxed).oldValue
                if first >= ids.count { break }
                var decoded: [(id: ChunkID, data: [UInt8])] = []
                for id in ids[first..<min(first + batch, ids.count)] {
                    do throws(ChunkStoreError) {
                        decoded.append((id, try codec.uncompressed(store.chunk(id))))
                    } catch {
                        found.append((id, error))
                    }
                }
                let actual = withBuffers(decoded.map(\.data)) { hasher.ids(of: $0) }
                for (chunk, sha512) in zip(decoded, actual) where sha512 != chunk.id {
                    if ChunkDigest.sha256.id(of: chunk.data) == chunk.id { continue }
                    found.append((chunk.id, .contentMismatch(chunk.id, hashesTo: sha512, .sha512_256)))
                }
            }
            bad.withLock { $0.append(contentsOf: found) }
        }
        return bad.withLock { $0 }
    }

    /// Runs `body` with buffers over the arrays' bytes, valid for its duration.
    static func withBuffers<T>(_ arrays: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) -> T) -> T {
        func nest(_ k: Int, _ buffers: inout [UnsafeRawBufferPointer]) -> T {
            if k == arrays.count { return body(buffers) }
            return arrays[k].withUnsafeBytes { bytes in
                buffers.append(bytes)
                return nest(k + 1, &buffers)
            }
        }
        var buffers: [UnsafeRawBufferPointer] = []
        buffers.reserveCapacity(arrays.count)
        return nest(0, &buffers)
    }
}

struct VerifyIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-index", abstract: "Check that a file matches an index, chunk by chunk.")

    @Option(name: .short, help: "Accepted for desync compatibility; the check needs no store.")
    var s: String?

    @OptionGroup var concurrency: ConcurrencyOption

    @Argument(help: "The index.")
    var index: String

    @Argument(help: "The file to check.")
    var file: String

    func run() throws {
        let chunkIndex = try readIndex(index)
        let input = try mapFile(file)
        guard UInt64(input.count) == chunkIndex.blobSize else {
            throw ValidationError("\(file) has \(input.count) bytes, the index describes \(chunkIndex.blobSize)")
        }
        let mismatches = IndexVerifier.mismatches(input.bytes, index: chunkIndex, workers: try concurrency.workers)
        for k in mismatches.prefix(20) {
            printError("chunk \(k) at \(chunkIndex.start(of: k))..<\(chunkIndex.entries[k].end) does not match \(chunkIndex.entries[k].id)")
        }
        if !mismatches.isEmpty {
            throw ValidationError("\(file) does not match \(index): \(mismatches.count) of \(chunkIndex.count) chunks differ")
        }
        printError("\(file) matches \(index) (\(chunkIndex.count) chunks)")
    }
}

import ArgumentParser
import ChunkStores
import Chunks
import Dispatch
import Synchronization

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
    /// store does not say which it uses).
    static func badChunks(_ ids: [ChunkID], in store: FileSystemChunkStore, workers: Int) -> [(ChunkID, ChunkStoreError)] {
        let next = Atomic<Int>(0)
        let bad = Mutex<[(ChunkID, ChunkStoreError)]>([])
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let codec = ChunkCodec()
            while true {
                let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if k >= ids.count { break }
                do throws(ChunkStoreError) {
                    let stored = try store.chunk(ids[k])
                    do throws(ChunkStoreError) {
                        _ = try codec.decode(stored, digest: .sha512_256)
                    } catch .invalid(_, let reason) where reason.hasPrefix("content hashes") {
                        _ = try codec.decode(stored, digest: .sha256)
                    }
                } catch {
                    bad.withLock { $0.append((ids[k], error)) }
                }
            }
        }
        return bad.withLock { $0 }
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

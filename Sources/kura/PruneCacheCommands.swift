import ArgumentParser
import ChunkStores
import Chunks
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif
import Locks

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove every chunk that none of the given indexes references.",
        discussion: """
            Like desync's prune, this keeps only what the indexes name: a chunk uploaded for an index not \
            yet written would be removed. --grace keeps chunks younger than that many seconds.
            """)

    @Option(name: .short, help: "Chunk store directory.")
    var s: String

    @Flag(name: [.customShort("y"), .long], help: "Do not ask for confirmation.")
    var yes = false

    @Option(help: "Keep chunks modified within this many seconds.")
    var grace: Int = 0

    @Argument(help: "Indexes whose chunks to keep.")
    var indexes: [String]

    func run() throws {
        guard !indexes.isEmpty else { throw ValidationError("name at least one index whose chunks to keep") }
        var keep = Set<ChunkID>()
        for path in indexes { keep.formUnion(try readIndex(path).entries.map(\.id)) }
        let store = try openStore(s, create: false)
        let now = Int(time(nil))
        let candidates = try store.allChunkIDs().filter { !keep.contains($0) }
        let doomed = candidates.filter { id in
            guard grace > 0, let st = store.fileStatus(of: id) else { return true }
            return now - Int(st.st_mtim.tv_sec) > grace
        }
        let stale = try store.staleTemporaryFiles(olderThan: 3600, now: now)
        guard !doomed.isEmpty || !stale.isEmpty else {
            printError("nothing to prune: every chunk in \(s) is referenced")
            return
        }
        if !yes {
            printError("remove \(doomed.count) unreferenced chunks and \(stale.count) stale temporary files from \(s)? [y/N] ")
            guard let answer = readLine(), answer.lowercased() == "y" || answer.lowercased() == "yes" else {
                throw ValidationError("prune cancelled, nothing removed")
            }
        }
        for id in doomed { try store.remove(id) }
        for path in stale { unlink(path) }
        printError("removed \(doomed.count) chunks and \(stale.count) temporary files; \(keep.count) referenced chunks kept")
    }
}

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Copy the chunks the indexes reference from a store into a cache store.")

    @Option(name: .short, help: "Source chunk store directory.")
    var s: String

    @Option(name: .short, help: "Cache store directory (created if missing).")
    var c: String

    @OptionGroup var concurrency: ConcurrencyOption

    @Argument(help: "Indexes whose chunks to copy.")
    var indexes: [String]

    func run() throws {
        let workers = try concurrency.workers
        var wanted: [ChunkID: ChunkDigest] = [:]
        for path in indexes {
            let index = try readIndex(path)
            for entry in index.entries { wanted[entry.id] = index.digest }
        }
        let source = try openStore(s, create: false)
        let cache = try openStore(c, create: true)
        let work = wanted.sorted { $0.key < $1.key }
        let next = Atomic<Int>(0)
        let result = SanitizedMutex<(copied: Int, present: Int, failures: [ChunkStoreError])>((0, 0, []))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let codec = ChunkCodec()
            while true {
                let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if k >= work.count { break }
                let (id, digest) = work[k]
                do throws(ChunkStoreError) {
                    if try cache.contains(id) {
                        result.withLock { $0.present += 1 }
                        continue
                    }
                    // Verified before it enters the cache: a cache never holds a chunk that fails its hash.
                    let stored = try source.chunk(id)
                    let data = try codec.decode(stored, digest: digest)
                    let copy = stored.form == cache.form
                        ? stored : data.withUnsafeBytes { codec.encode($0, id: id, form: cache.form) }
                    try cache.store(copy)
                    result.withLock { $0.copied += 1 }
                } catch {
                    result.withLock { $0.failures.append(error) }
                }
            }
        }
        let (copied, present, failures) = result.withLock { $0 }
        try cache.flush()
        for failure in failures.prefix(20) { printError("\(failure)") }
        printError("\(copied) chunks copied, \(present) already cached, \(failures.count) failed")
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

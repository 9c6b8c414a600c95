// A casync/desync local chunk store: `<root>/<first 4 hex>/<64 hex id>.cacnk` for zstd chunks and
// `<root>/<4 hex>/<64 hex id>` for uncompressed ones; both forms may sit in one store.
//
// Writes are atomic and never replace: a chunk is written to an anonymous file in its directory
// (O_TMPFILE) and linked to its name — link fails if the name exists, like casync's RENAME_NOREPLACE —
// or, where O_TMPFILE is missing, to a named temporary file that is linked and then removed. A reader therefore sees a whole chunk or none, and concurrent writers of
// the same chunk (same content, by addressing) are both fine.
//
// Durability (fsync policy): `.never` leaves flushing to the kernel, as casync and desync do;
// `flush()` then makes everything written so far durable with one syncfs(2) — `kura make` calls it
// before it writes the index, so an index never names chunks that a power cut could lose.
// `.always` fsyncs each chunk file and its directory before `store` returns, for stores whose every
// write is acknowledged to someone.
import Chunks
import Synchronization

#if canImport(Glibc)
import Glibc
#endif
import Locks

public final class FileSystemChunkStore: PrunableChunkStore, ChunkFileStore {
    public enum FsyncPolicy: Sendable { case never, always }

    public let root: String
    public let form: ChunkForm
    public let fsync: FsyncPolicy
    /// Background syncfs while chunks are written (see BackgroundSync); nil for `.always` (every chunk
    /// is durable already) or a store directory that does not exist.
    private let backgroundSync: BackgroundSync?
    /// Prefix directories this instance has made sure exist.
    private let knownDirectories = SanitizedMutex<Set<Int>>([])
    /// Whether this instance created the store directory: then a prefix directory it has not made
    /// holds nothing it could find (see `contains`).
    private let createdRoot: Bool
    /// Temporary names are `<id>.<pid>-<random>-<counter>.tmp`: unique across processes and writers.
    private let temporaryPrefix = "\(getpid())-\(FileIO.randomSuffix())-"
    private let temporaryCounter = Atomic<Int>(0)

    /// Opens the store directory, creating it (with parents) if missing unless `create` is false —
    /// then a missing directory is a store without chunks, and reading creates nothing.
    public init(
        root: String, form: ChunkForm = .compressed, fsync: FsyncPolicy = .never, create: Bool = true,
        backgroundSyncInterval: Int? = 32 << 20
    ) throws(ChunkStoreError) {
        let root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.root = root
        self.form = form
        self.fsync = fsync
        createdRoot = create && !FileIO.exists(root)
        do {
            if create { try FileIO.makeDirectories(root) }
        } catch {
            throw .unavailable(nil, reason: error.description)
        }
        backgroundSync = fsync == .never ? backgroundSyncInterval.flatMap { BackgroundSync(path: root, interval: $0) } : nil
    }

    public func path(of id: ChunkID, form: ChunkForm) -> String {
        let hex = id.hex
        return "\(root)/\(hex.prefix(4))/\(hex)\(form.fileExtension)"
    }

    /// Forms to look for, the store's own first.
    private var lookupOrder: [ChunkForm] { form == .compressed ? [.compressed, .uncompressed] : [.uncompressed, .compressed] }

    /// In a store this instance created, a chunk whose prefix directory it has not made is absent
    /// without a look (two failed stats per chunk otherwise, ~2 % of a fresh `make`'s CPU time). Only a
    /// chunk another process is writing into the new store at the same time can be missed, which is the
    /// answer a look just before that write would have given: a writer then stores it again, and the
    /// link refuses to replace it.
    public func contains(_ id: ChunkID) throws(ChunkStoreError) -> Bool {
        if createdRoot && !knownDirectories.withLock({ $0.contains(Int(id.words.0 >> 48)) }) { return false }
        for form in lookupOrder {
            var st = stat()
            if stat(path(of: id, form: form), &st) == 0 { return true }
            if errno != ENOENT && errno != ENOTDIR {
                throw .unavailable(id, reason: "stat \(path(of: id, form: form)): \(FileIO.lastError())")
            }
        }
        return false
    }

    public func chunk(_ id: ChunkID) throws(ChunkStoreError) -> StoredChunk {
        for form in lookupOrder {
            let path = path(of: id, form: form)
            do {
                guard let bytes = try FileIO.readFileIfExists(path) else { continue }
                return StoredChunk(id: id, form: form, bytes: bytes)
            } catch {
                throw .unavailable(id, reason: error.description)
            }
        }
        throw .missing(id)
    }

    /// Linux's O_NOATIME (the same on x86_64 and arm64); Glibc does not export it to Swift. Reading
    /// a chunk need not update its access time: nothing here uses atime, and on a freshly made store
    /// relatime would otherwise dirty (and journal) every chunk's inode on the first extract.
    static let oNoatime: Int32 = 0o1_000_000

    /// The chunk's file, for extract's loader: one open and fstat per chunk, no path string kept.
    func openChunkFile(_ id: ChunkID) throws(ChunkStoreError) -> ChunkFile {
        for form in lookupOrder {
            let path = path(of: id, form: form)
            var fd = open(path, O_RDONLY | O_CLOEXEC | Self.oNoatime)
            if fd < 0 && errno == EPERM { fd = open(path, O_RDONLY | O_CLOEXEC) }  // not the file's owner
            if fd < 0 {
                if errno == ENOENT || errno == ENOTDIR { continue }
                throw .unavailable(id, reason: "open \(path): \(FileIO.lastError())")
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                let reason = "stat \(path): \(FileIO.lastError())"
                close(fd)
                throw .unavailable(id, reason: reason)
            }
            return ChunkFile(fd: fd, form: form, size: Int(st.st_size), path: path)
        }
        throw .missing(id)
    }

    /// Writes the chunk unless a file of the same form holds it already (the link refuses to replace).
    /// Callers that care about the other form check `contains` first, as `IndexMaker` does.
    public func store(_ chunk: StoredChunk) throws(ChunkStoreError) {
        precondition(chunk.form == form, "chunk \(chunk.id) in form \(chunk.form), store \(root) writes \(form)")
        let hex = chunk.id.hex
        let directory = "\(root)/\(hex.prefix(4))"
        do throws(FileIOError) {
            // mkdir costs a metadata round trip on every chunk otherwise; remember what exists.
            let prefix = Int(chunk.id.words.0 >> 48)
            if !knownDirectories.withLock({ $0.contains(prefix) }) {
                try FileIO.makeDirectory(directory)
                knownDirectories.withLock { _ = $0.insert(prefix) }
            }
            let target = path(of: chunk.id, form: form)
            if try !FileIO.writeAnonymousThenLink(directory: directory, target: target, bytes: chunk.bytes, mode: 0o444, sync: fsync == .always) {
                // No O_TMPFILE here: a named temporary file, linked into place, then removed.
                let temporary = "\(directory)/.\(hex).\(temporaryPrefix)\(temporaryCounter.wrappingAdd(1, ordering: .relaxed).oldValue).tmp"
                try FileIO.writeNewFile(temporary, bytes: chunk.bytes, mode: 0o444, sync: fsync == .always)
                defer { unlink(temporary) }
                if link(temporary, target) != 0 && errno != EEXIST {
                    throw FileIOError(path: target, operation: "link", code: errno)
                }
            }
            if fsync == .always { try FileIO.syncDirectory(directory) }
            backgroundSync?.wrote(chunk.bytes.count)
        } catch {
            throw .unavailable(chunk.id, reason: error.description)
        }
    }

    public func remove(_ id: ChunkID) throws(ChunkStoreError) {
        for form in [ChunkForm.compressed, .uncompressed] {
            let path = path(of: id, form: form)
            if unlink(path) != 0 && errno != ENOENT {
                throw .unavailable(id, reason: "unlink \(path): \(FileIO.lastError())")
            }
        }
    }

    public func allChunkIDs() throws(ChunkStoreError) -> [ChunkID] {
        do {
            var ids: [ChunkID] = []
            for prefix in try FileIO.directoryEntries(root) where Self.isPrefixDirectory(prefix) {
                for name in try FileIO.directoryEntries("\(root)/\(prefix)") {
                    // Temporary files start with a dot; anything else that is not a chunk name is ignored.
                    let hex = name.hasSuffix(".cacnk") ? String(name.dropLast(6)) : name
                    guard hex.hasPrefix(prefix), let id = ChunkID(hex: hex), id.hex == hex else { continue }
                    ids.append(id)
                }
            }
            return ids
        } catch {
            throw .unavailable(nil, reason: error.description)
        }
    }

    /// The chunk's file status (its size on disk, its age), whichever form holds it.
    public func fileStatus(of id: ChunkID) -> stat? {
        var st = stat()
        for form in lookupOrder where stat(path(of: id, form: form), &st) == 0 { return st }
        return nil
    }

    /// Temporary files left by writers that died (older than `age` seconds), for prune to remove.
    public func staleTemporaryFiles(olderThan age: Int, now: Int) throws(ChunkStoreError) -> [String] {
        do {
            var stale: [String] = []
            for prefix in try FileIO.directoryEntries(root) where Self.isPrefixDirectory(prefix) {
                for name in try FileIO.directoryEntries("\(root)/\(prefix)") where name.hasPrefix(".") && name.hasSuffix(".tmp") {
                    let path = "\(root)/\(prefix)/\(name)"
                    var st = stat()
                    if stat(path, &st) == 0 && now - Int(st.st_mtim.tv_sec) > age { stale.append(path) }
                }
            }
            return stale
        } catch {
            throw .unavailable(nil, reason: error.description)
        }
    }

    /// Makes every chunk written so far durable: one syncfs(2) on the store's file system (after
    /// the background one, if running).
    public func flush() throws(ChunkStoreError) {
        do {
            if let backgroundSync { try backgroundSync.finish() } else { try FileIO.syncFileSystem(root) }
        } catch {
            throw .unavailable(nil, reason: error.description)
        }
    }

    static func isPrefixDirectory(_ name: String) -> Bool {
        name.utf8.count == 4 && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}

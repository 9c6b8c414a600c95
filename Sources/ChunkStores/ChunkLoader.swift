// Reading and verifying chunks on extract's hot path with no allocation per chunk: a worker reads a
// chunk file into one reused buffer and decompresses it straight to where the caller wants the bytes
// (extract: their place in the output run), where the run hashes them with the rest of its chunks. A chunk zstd stored raw
// (incompressible data: most of a random blob) is read straight into place (RawFrame), saving the
// decoder's copy.
//
// Measured (perf, 1 GiB of random data, 2 cores): hashing is two thirds of extract's CPU time and
// copying in and out of the page cache most of the rest, so everything else — allocation, page
// faults on fresh buffers, extra copies, metadata work — must stay close to nothing. The checks are
// ChunkCodec.decode's, with its messages: size from the index and zstd frame sanity here, the digest
// of the bytes in OutputRun.
import CZstd
import Chunks

#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer owned by one thread and reused across chunks.
final class ReusableBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 64)
    }

    deinit { base.deallocate() }

    /// Makes room for `count` bytes; the contents are not kept.
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        base.deallocate()
        capacity = max(count, capacity * 2)
        base = .allocate(byteCount: capacity, alignment: 64)
    }

    func prefix(_ count: Int) -> UnsafeRawBufferPointer {
        precondition(count <= capacity, "prefix \(count) of a \(capacity)-byte buffer")
        return UnsafeRawBufferPointer(start: base, count: count)
    }
}

/// Stores whose chunks are files: the loader reads them itself, into its buffers or straight into place.
protocol ChunkFileStore: ChunkStore {
    /// Opens the file holding `id` in whichever form the store has; the caller closes it.
    /// Throws `.missing` when no form is present, like `chunk(_:)`.
    func openChunkFile(_ id: ChunkID) throws(ChunkStoreError) -> ChunkFile
}

/// An open chunk file.
struct ChunkFile {
    let fd: Int32
    let form: ChunkForm
    let size: Int
    let path: String
}

/// One per worker thread.
final class ChunkLoader {
    private let store: any ChunkStore
    private let files: (any ChunkFileStore)?
    /// The worker's hasher, for the seeds and the output run (the loader itself does not hash).
    let hasher: ChunkHasher
    private let dctx: OpaquePointer
    private let stored: ReusableBuffer
    private let scratch = ReusableBuffer(capacity: RawFrame.scratchSize)

    init(store: any ChunkStore, digest: ChunkDigest, maxChunkSize: Int) {
        self.store = store
        files = store as? any ChunkFileStore
        hasher = ChunkHasher(digest)
        guard let dctx = ZSTD_createDCtx() else { preconditionFailure("zstd could not allocate a context") }
        self.dctx = dctx
        stored = ReusableBuffer(capacity: ZSTD_compressBound(min(maxChunkSize, ChunkCodec.maxChunkSize)))
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Puts the bytes of chunk `id`, which the index says holds `size` bytes, at `destination`, which
    /// has room for `size + 1` (one byte of slack tells an exact fit from an overflow). They are not
    /// yet hashed: the caller checks them against `id` (OutputRun does, several chunks at once). On a
    /// throw the destination holds garbage.
    func load(_ id: ChunkID, size: Int, into destination: UnsafeMutableRawPointer) throws(ChunkStoreError) {
        let decoded: Int
        if let files {
            let file = try files.openChunkFile(id)
            defer { close(file.fd) }
            switch file.form {
            case .uncompressed:
                decoded = file.size
                if file.size == size { try RawFrame.read(file, into: destination, count: size, at: 0, id: id) }
            case .compressed:
                if try RawFrame.readInPlace(file, size: size, into: destination, scratch: scratch.base, id: id) {
                    decoded = size
                } else {
                    stored.reserve(file.size)
                    try RawFrame.read(file, into: stored.base, count: file.size, at: 0, id: id)
                    decoded = try decompress(stored.prefix(file.size), id: id, size: size, into: destination)
                }
            }
        } else {
            let chunk = try store.chunk(id)
            stored.reserve(chunk.bytes.count)
            chunk.bytes.withUnsafeBytes { stored.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            switch chunk.form {
            case .uncompressed:
                decoded = chunk.bytes.count
                if decoded == size { destination.copyMemory(from: stored.base, byteCount: size) }
            case .compressed:
                decoded = try decompress(stored.prefix(chunk.bytes.count), id: id, size: size, into: destination)
            }
        }
        if decoded != size {
            throw .invalid(id, reason: "holds \(decoded) bytes, the index says \(size)")
        }
    }

    private func decompress(
        _ frame: UnsafeRawBufferPointer, id: ChunkID, size: Int, into destination: UnsafeMutableRawPointer
    ) throws(ChunkStoreError) -> Int {
        let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw .invalid(id, reason: "not a zstd frame (\(frame.count) bytes)")
        }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > UInt64(size) {
            throw .invalid(id, reason: "zstd frame declares \(declared) bytes, more than the chunk may hold")
        }
        let n = ZSTD_decompressDCtx(dctx, destination, size + 1, frame.baseAddress, frame.count)
        if ZSTD_isError(n) != 0 {
            throw .invalid(id, reason: "zstd: \(String(cString: ZSTD_getErrorName(n)))")
        }
        guard n <= size else { throw .invalid(id, reason: "zstd frame decodes to more than \(size) bytes") }
        return n
    }
}

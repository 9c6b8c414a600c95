// Reading and verifying chunks on extract's hot path with no allocation per chunk: a worker reads a
// chunk file into one reused buffer and decompresses it straight to where the caller wants the bytes
// (extract: their place in the output run), where it hashes them.
//
// Measured (perf, 1 GiB of random data, 2 cores): hashing is two thirds of extract's CPU time and
// copying in and out of the page cache most of the rest, so everything else — allocation, page
// faults on fresh buffers, extra copies, metadata work — must stay close to nothing. The checks are
// ChunkCodec.decode's, with its messages: size from the index, zstd frame sanity, digest of the bytes.
import CZstd
import Chunks

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

/// Stores that can read a chunk's stored bytes into a caller's buffer instead of a new array.
protocol BufferedChunkReading: ChunkStore {
    /// Reads the stored bytes of `id` into `buffer` (growing it); returns their form and size.
    /// Throws `.missing` when no form is present, like `chunk(_:)`.
    func read(_ id: ChunkID, into buffer: ReusableBuffer) throws(ChunkStoreError) -> (form: ChunkForm, count: Int)
}

/// One per worker thread.
final class ChunkLoader {
    private let store: any ChunkStore
    private let buffered: (any BufferedChunkReading)?
    let hasher: ChunkHasher
    private let dctx: OpaquePointer
    private let stored: ReusableBuffer

    init(store: any ChunkStore, digest: ChunkDigest, maxChunkSize: Int) {
        self.store = store
        buffered = store as? any BufferedChunkReading
        hasher = ChunkHasher(digest)
        guard let dctx = ZSTD_createDCtx() else { preconditionFailure("zstd could not allocate a context") }
        self.dctx = dctx
        stored = ReusableBuffer(capacity: ZSTD_compressBound(min(maxChunkSize, ChunkCodec.maxChunkSize)))
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Puts the verified bytes of chunk `id`, which the index says holds `size` bytes, at
    /// `destination`, which has room for `size + 1` (one byte of slack tells an exact fit from an
    /// overflow). On a throw the destination holds garbage.
    func load(_ id: ChunkID, size: Int, into destination: UnsafeMutableRawPointer) throws(ChunkStoreError) {
        let form: ChunkForm
        let count: Int
        if let buffered {
            (form, count) = try buffered.read(id, into: stored)
        } else {
            let chunk = try store.chunk(id)
            stored.reserve(chunk.bytes.count)
            chunk.bytes.withUnsafeBytes { stored.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            (form, count) = (chunk.form, chunk.bytes.count)
        }
        let decoded: Int
        switch form {
        case .uncompressed:
            decoded = count
            if count == size { destination.copyMemory(from: stored.base, byteCount: count) }
        case .compressed:
            decoded = try decompress(stored.prefix(count), id: id, size: size, into: destination)
        }
        if decoded != size {
            throw .invalid(id, reason: "holds \(decoded) bytes, the index says \(size)")
        }
        let actual = hasher.id(of: UnsafeRawBufferPointer(start: destination, count: size))
        guard actual == id else {
            throw .invalid(id, reason: "content hashes to \(actual) (\(hasher.digest.rawValue))")
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

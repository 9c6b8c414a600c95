// zstd for `.cacnk` chunks, with the digest check on every decode.
//
// One codec per thread: it owns a zstd compression and decompression context, which are reused
// across chunks (allocating them per chunk costs more than compressing a small chunk).
import CZstd

public final class ChunkCodec {
    /// casync and desync compress at level 3.
    public static let defaultLevel: Int32 = 3
    /// The largest chunk casync allows; bounds how much a decode will ever allocate.
    public static let maxChunkSize = 128 << 20

    private let cctx: OpaquePointer
    private let dctx: OpaquePointer
    public let level: Int32

    public init(level: Int32 = ChunkCodec.defaultLevel) {
        guard let c = ZSTD_createCCtx(), let d = ZSTD_createDCtx() else {
            preconditionFailure("zstd could not allocate a context")
        }
        cctx = c
        dctx = d
        self.level = level
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
    }

    /// The stored form of `data`, whose digest the caller computed as `id`.
    public func encode(_ data: UnsafeRawBufferPointer, id: ChunkID, form: ChunkForm) -> StoredChunk {
        switch form {
        case .uncompressed:
            return StoredChunk(id: id, form: form, bytes: Array(data))
        case .compressed:
            return StoredChunk(id: id, form: form, bytes: compress(data))
        }
    }

    public func compress(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        let bound = ZSTD_compressBound(data.count)
        return [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            let n = ZSTD_compress2(cctx, buffer.baseAddress, bound, data.baseAddress, data.count)
            precondition(ZSTD_isError(n) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(n)))")
            count = n
        }
    }

    /// The uncompressed bytes of `chunk`, not yet checked against its ID: for callers that hash
    /// many chunks at once (kura verify). Size and frame checks are the same as `decode`'s.
    public func uncompressed(_ chunk: StoredChunk, expectedSize: Int? = nil) throws(ChunkStoreError) -> [UInt8] {
        let data = switch chunk.form {
        case .uncompressed: chunk.bytes
        case .compressed: try decompress(chunk.bytes, id: chunk.id, expectedSize: expectedSize)
        }
        if let expectedSize, data.count != expectedSize {
            throw .invalid(chunk.id, reason: "holds \(data.count) bytes, the index says \(expectedSize)")
        }
        return data
    }

    /// The uncompressed bytes of `chunk`, checked against its ID.
    /// - Parameter expectedSize: the size the index gives, when known; a frame that decodes to more is refused.
    public func decode(
        _ chunk: StoredChunk, digest: ChunkDigest, expectedSize: Int? = nil
    ) throws(ChunkStoreError) -> [UInt8] {
        let data = try uncompressed(chunk, expectedSize: expectedSize)
        let actual = digest.id(of: data)
        guard actual == chunk.id else {
            throw .contentMismatch(chunk.id, hashesTo: actual, digest)
        }
        return data
    }

    func decompress(_ bytes: [UInt8], id: ChunkID, expectedSize: Int?) throws(ChunkStoreError) -> [UInt8] {
        let capacity: Int
        let declared = bytes.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw .invalid(id, reason: "not a zstd frame (\(bytes.count) bytes)")
        } else if declared != ZSTD_CONTENTSIZE_UNKNOWN {
            guard declared <= UInt64(expectedSize ?? Self.maxChunkSize) else {
                throw .invalid(id, reason: "zstd frame declares \(declared) bytes, more than the chunk may hold")
            }
            capacity = Int(declared)
        } else {
            capacity = expectedSize ?? Self.maxChunkSize
        }
        // Without a declared size (casync writes none) decode into the largest size allowed; one byte of
        // slack tells an exact fit from an overflow.
        var failure: String?
        let data = [UInt8](unsafeUninitializedCapacity: capacity + 1) { buffer, count in
            let n = bytes.withUnsafeBytes { src in
                ZSTD_decompressDCtx(dctx, buffer.baseAddress, capacity + 1, src.baseAddress, src.count)
            }
            if ZSTD_isError(n) != 0 {
                failure = String(cString: ZSTD_getErrorName(n))
                count = 0
            } else {
                count = n
            }
        }
        if let failure { throw .invalid(id, reason: "zstd: \(failure)") }
        guard data.count <= capacity else { throw .invalid(id, reason: "zstd frame decodes to more than \(capacity) bytes") }
        return data
    }
}

// The chunk codec: zstd round trips, and every decode refuses bytes that are not the chunk they claim.
import Chunks
import CZstd
import ChunksTesting
import Testing

@Suite struct ChunkCodecTests {
    let codec = ChunkCodec()

    func stored(_ data: [UInt8], form: ChunkForm = .compressed) -> StoredChunk {
        data.withUnsafeBytes { codec.encode($0, id: ChunkDigest.sha512_256.id(of: $0), form: form) }
    }

    @Test(arguments: [0, 1, 1000, 70_000])
    func roundTrip(size: Int) throws {
        let data = randomBytes(size, seed: UInt64(size))
        for form in [ChunkForm.compressed, .uncompressed] {
            let chunk = stored(data, form: form)
            #expect(try codec.decode(chunk, digest: .sha512_256, expectedSize: size) == data)
        }
    }

    @Test func compressibleDataShrinks() {
        let data = [UInt8](repeating: 7, count: 65536)
        #expect(stored(data).bytes.count < 100)
    }

    @Test func garbageInsteadOfZstdIsInvalid() {
        let good = stored(randomBytes(5000, seed: 1))
        let garbage = StoredChunk(id: good.id, form: .compressed, bytes: randomBytes(5000, seed: 2))
        #expect(throws: ChunkStoreError.invalid(good.id, reason: "not a zstd frame (5000 bytes)")) {
            try codec.decode(garbage, digest: .sha512_256)
        }
    }

    @Test func wrongContentIsInvalid() throws {
        let a = stored(randomBytes(5000, seed: 1))
        let b = stored(randomBytes(5000, seed: 2))
        let swapped = StoredChunk(id: a.id, form: .compressed, bytes: b.bytes)
        #expect {
            try codec.decode(swapped, digest: .sha512_256)
        } throws: { error in
            guard case .invalid(let id, let reason) = error as? ChunkStoreError else { return false }
            return id == a.id && reason.hasPrefix("content hashes to \(b.id)")
        }
    }

    @Test func wrongSizeIsInvalid() {
        let chunk = stored(randomBytes(5000, seed: 1))
        #expect(throws: ChunkStoreError.self) { try codec.decode(chunk, digest: .sha512_256, expectedSize: 4999) }
        #expect(throws: ChunkStoreError.self) { try codec.decode(chunk, digest: .sha512_256, expectedSize: 5001) }
    }

    /// casync writes frames without a content size (streaming API); those must decode too.
    @Test func frameWithoutContentSizeDecodes() throws {
        let data = randomBytes(30_000, seed: 9) + [UInt8](repeating: 1, count: 30_000)
        var frame = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
        let cctx = ZSTD_createCStream()
        defer { ZSTD_freeCStream(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)
        let n = data.withUnsafeBytes { src in
            frame.withUnsafeMutableBytes { dst in
                ZSTD_compress2(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
            }
        }
        #expect(ZSTD_isError(n) == 0)
        frame.removeLast(frame.count - n)
        #expect(frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) } == ZSTD_CONTENTSIZE_UNKNOWN)
        let chunk = StoredChunk(id: ChunkDigest.sha512_256.id(of: data), form: .compressed, bytes: frame)
        #expect(try codec.decode(chunk, digest: .sha512_256) == data)
        #expect(try codec.decode(chunk, digest: .sha512_256, expectedSize: data.count) == data)
    }

    @Test func digestsDiffer() {
        let data: [UInt8] = Array("abc".utf8)
        #expect(ChunkDigest.sha512_256.id(of: data).hex == "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23")
        #expect(ChunkDigest.sha256.id(of: data).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

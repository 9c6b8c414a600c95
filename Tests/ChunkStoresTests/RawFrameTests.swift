// RawFrame: which chunk files extract may read straight into place, and that it reads them right.
// casync writes frames without a content size (window descriptor 0x58: 2 MiB), kura's zstd writes
// single-segment frames with one; anything that is not all raw blocks must go to the decoder.
import Chunks
import ChunksTesting
import Foundation
import Testing

@testable import ChunkStores

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RawFrameTests {
    /// A frame of raw blocks as casync writes incompressible data: no content size, no checksum.
    func casyncRawFrame(_ payload: [UInt8], blockMax: Int = 128 << 10, firstType: Int = 0) -> [UInt8] {
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58]
        var offset = 0
        repeat {
            let length = min(blockMax, payload.count - offset)
            let last = offset + length == payload.count ? 1 : 0
            let type = offset == 0 ? firstType : 0
            let word = length << 3 | type << 1 | last
            frame += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF)]
            frame += payload[offset..<(offset + length)]
            offset += length
        } while offset < payload.count
        return frame
    }

    /// Writes `bytes` to a file and runs `readInPlace` on it for a chunk of `size` bytes.
    func readInPlace(_ bytes: [UInt8], size: Int) throws -> [UInt8]? {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("chunk", bytes)
        let fd = open(dir.file("chunk"), O_RDONLY)
        defer { close(fd) }
        let file = ChunkFile(fd: fd, form: .compressed, size: bytes.count, path: dir.file("chunk"))
        let destination = UnsafeMutableRawPointer.allocate(byteCount: size + 1, alignment: 16)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: RawFrame.scratchSize, alignment: 16)
        defer { destination.deallocate(); scratch.deallocate() }
        let id = ChunkDigest.sha512_256.id(of: bytes)
        guard try RawFrame.readInPlace(file, size: size, into: destination, scratch: scratch, id: id) else { return nil }
        return Array(UnsafeRawBufferPointer(start: destination, count: size))
    }

    @Test(arguments: [1, 70_000, 131_072, 200_000, 262_144])
    func casyncFramesAreReadInPlace(size: Int) throws {
        let payload = randomBytes(size, seed: UInt64(size))
        let frame = casyncRawFrame(payload)
        #expect(try readInPlace(frame, size: size) == payload)
        // The real decoder agrees that this is the chunk (the frame is valid zstd).
        let id = ChunkDigest.sha512_256.id(of: payload)
        #expect(try ChunkCodec().decode(StoredChunk(id: id, form: .compressed, bytes: frame), digest: .sha512_256, expectedSize: size) == payload)
    }

    @Test func kuraFramesOfRandomDataAreReadInPlace() throws {
        for size in [1000, 65_536, 200_000] {
            let payload = randomBytes(size, seed: 7)
            let frame = payload.withUnsafeBytes { ChunkCodec().compress($0) }
            #expect(try readInPlace(frame, size: size) == payload, "\(size) bytes")
        }
    }

    @Test func othersGoToTheDecoder() throws {
        let payload = randomBytes(200_000, seed: 8)
        // Compressed data, a compressed first block, other block sizes, a size the index does not give.
        let mesh = meshLikeBytes(200_000, seed: 9)
        #expect(try readInPlace(mesh.withUnsafeBytes { ChunkCodec().compress($0) }, size: mesh.count) == nil)
        #expect(try readInPlace(casyncRawFrame(payload, firstType: 2), size: payload.count) == nil)
        #expect(try readInPlace(casyncRawFrame(payload, blockMax: 100_000), size: payload.count) == nil)
        #expect(try readInPlace(casyncRawFrame(payload), size: payload.count - 1) == nil)
        #expect(try readInPlace(randomBytes(200_012, seed: 10), size: payload.count) == nil)
    }

    @Test func headerSizes() {
        func parse(_ bytes: [UInt8]) -> (Int, Int, Bool)? {
            bytes.withUnsafeBytes { RawFrame.header($0).map { ($0.size, $0.blockMax, $0.checksum) } }
        }
        #expect(parse([0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58]).map { "\($0)" } == "(6, 131072, false)")
        // Single segment, 2-byte content size 1000 (stored as 1000 - 256), checksum.
        #expect(parse([0x28, 0xB5, 0x2F, 0xFD, 0x64, 0xE8, 0x02]).map { "\($0)" } == "(7, 1000, true)")
        #expect(parse([0x28, 0xB5, 0x2F, 0xFD, 0x01, 0x58, 0x07]) == nil)  // dictionary ID
        #expect(parse([0x50, 0x2A, 0x4D, 0x18, 0x00, 0x00]) == nil)  // a skippable frame
    }
}

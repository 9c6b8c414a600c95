// Reading a chunk file straight into place when zstd stored the chunk raw.
//
// A zstd frame of incompressible data is a frame header and raw blocks (a 3-byte header, then the
// bytes as they are), so its payload can land at its place in the output with one preadv and no
// decoder copy: on 1 GiB of random data that copy was ~5 % of extract's CPU time. The file size
// says whether the frame can be all raw blocks (header + 3 bytes a block + the chunk's size, plus a
// checksum if flagged); the block headers read alongside must then say raw, the right length and the
// last flag only on the last block. Anything else — compressed blocks, an odd split, a dictionary —
// goes to the decoder, and the caller hashes the bytes either way, so a wrong guess costs a re-read,
// never a wrong chunk.
#if canImport(Glibc)
import Glibc
#endif
import Chunks

enum RawFrame {
    /// The frame header's size and the largest block it allows, from its first bytes; nil for
    /// anything this fast path does not take (not a zstd frame, a dictionary, reserved bits).
    static func header(_ bytes: UnsafeRawBufferPointer) -> (size: Int, blockMax: Int, checksum: Bool)? {
        guard bytes.count >= 6, bytes.loadUnaligned(as: UInt32.self).littleEndian == 0xFD2F_B528 else { return nil }
        let descriptor = bytes[4]
        let singleSegment = descriptor & 0x20 != 0
        guard descriptor & 0x08 == 0, descriptor & 0x03 == 0 else { return nil }  // reserved bit, dictionary ID
        let contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        let size = 5 + (singleSegment ? 0 : 1) + contentSizeBytes
        guard bytes.count >= size else { return nil }
        var window: Int
        if singleSegment {
            var content = 0
            for i in 0..<contentSizeBytes { content |= Int(bytes[5 + i]) << (8 * i) }
            window = contentSizeBytes == 2 ? content + 256 : content
        } else {
            let exponent = Int(bytes[5] >> 3)
            guard exponent <= 31 else { return nil }
            let base = 1 << (10 + exponent)
            window = base + (base / 8) * Int(bytes[5] & 7)
        }
        return (size, min(window, 128 << 10), descriptor & 0x04 != 0)
    }

    /// Room `readInPlace` needs in its scratch buffer: the largest frame header (18 bytes) and a block
    /// header, then 64 block headers and a checksum.
    static let scratchSize = 24 + 3 * 64 + 4

    /// Reads the chunk's `size` bytes straight to `destination` if the file is one all-raw frame;
    /// false (the destination then holds garbage) if the caller must decode it.
    static func readInPlace(
        _ file: ChunkFile, size: Int, into destination: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer, id: ChunkID
    ) throws(ChunkStoreError) -> Bool {
        let got = try read(file, into: scratch, count: min(24, file.size), at: 0, id: id)
        guard size > 0, let frame = header(UnsafeRawBufferPointer(start: scratch, count: got)), frame.blockMax > 0 else { return false }
        let blocks = (size + frame.blockMax - 1) / frame.blockMax
        guard blocks <= 64, file.size == frame.size + 3 * blocks + size + (frame.checksum ? 4 : 0) else { return false }
        // Block headers and the checksum go to scratch space, the payloads to their places.
        let headers = scratch + 24
        let complete = withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2 * blocks + 1) { vectors in
            var count = 0
            for b in 0..<blocks {
                vectors[count] = iovec(iov_base: headers + 3 * b, iov_len: 3)
                vectors[count + 1] = iovec(iov_base: destination + b * frame.blockMax, iov_len: min(frame.blockMax, size - b * frame.blockMax))
                count += 2
            }
            if frame.checksum {
                vectors[count] = iovec(iov_base: headers + 3 * blocks, iov_len: 4)
                count += 1
            }
            var n: Int
            repeat { n = preadv(file.fd, vectors.baseAddress, Int32(count), off_t(frame.size)) } while n < 0 && errno == EINTR
            return n == file.size - frame.size
        }
        guard complete else { return false }  // a short read or an error: the decoder's path reports it
        let bytes = headers.assumingMemoryBound(to: UInt8.self)
        for b in 0..<blocks {
            let word = Int(bytes[3 * b]) | Int(bytes[3 * b + 1]) << 8 | Int(bytes[3 * b + 2]) << 16
            let last = word & 1 == 1
            let raw = (word >> 1) & 3 == 0
            guard raw, last == (b == blocks - 1), word >> 3 == min(frame.blockMax, size - b * frame.blockMax) else { return false }
        }
        return true
    }

    /// Reads `count` bytes of the file from `offset`; a file shorter than its fstat said is an error.
    @discardableResult
    static func read(_ file: ChunkFile, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int, id: ChunkID) throws(ChunkStoreError) -> Int {
        var done = 0
        while done < count {
            let n = pread(file.fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .unavailable(id, reason: "read \(file.path): \(FileIO.lastError())") }
            if n == 0 { throw .unavailable(id, reason: "read (file shrank) \(file.path): \(String(cString: strerror(EIO)))") }
            done += n
        }
        return done
    }
}

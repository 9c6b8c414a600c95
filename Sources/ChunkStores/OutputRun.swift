// A worker's stretch of consecutive output bytes, gathered in one buffer and written with one pwrite.
//
// Why: with a pwrite per chunk (~64 KiB) the workers took the output file's inode lock 16k times per
// GiB, spun on it (rwsem_spin_on_owner in perf) and copied into the page cache at ~3× casync's cost
// per byte. Chunks are decoded straight into the run at their place, hashed there and written a
// few chunks at a time, so the run costs no extra copy. (The earlier 2 MiB runs had fallen out of L2
// by the time pwrite copied them: see `flushSize`.)

/// One per worker thread.
final class OutputRun {
    private let output: PartialFile
    private let buffer: ReusableBuffer
    /// The file offset of the run's first byte, and how many bytes the run holds.
    private var start: UInt64 = 0
    private var count = 0

    /// - Parameter maxChunkSize: the largest chunk the run must take (plus one byte of decoder slack).
    init(output: PartialFile, maxChunkSize: Int) {
        self.output = output
        buffer = ReusableBuffer(capacity: max(Self.flushSize, maxChunkSize) + 1)
    }

    /// Bytes gathered before a write: small enough that the run is still in the core's L2 cache when
    /// pwrite copies it into the page cache. Measured on 1 GiB random (2 workers, 1 MiB L2): 2 MiB runs
    /// cost 2.2–2.7 system-s, 256 KiB and 128 KiB runs 1.0–1.1 (wall 2.8–3.1 s → 1.8–2.3 s); 64 KiB
    /// (a pwrite per chunk) 1.1–1.2 system-s but more user time.
    static let flushSize = 256 << 10

    /// Where the `size` bytes that belong at `offset` go (with one byte of slack after them). Writes
    /// the run first if they do not extend it or would overfill it. Call `append` once they are there.
    func slot(at offset: UInt64, size: Int) -> Result<UnsafeMutableRawPointer, FileIOError> {
        let contiguous = count > 0 && start + UInt64(count) == offset
        if !contiguous || count + size + 1 > buffer.capacity {
            if let error = flush() { return .failure(error) }
            start = offset
        }
        buffer.reserve(size + 1)  // only grows an empty run: size ≤ maxChunkSize
        return .success(buffer.base + count)
    }

    /// Takes in the `size` bytes just put at the last `slot`; returns them (valid until the next flush).
    func append(_ size: Int) -> UnsafeRawBufferPointer {
        let bytes = UnsafeRawBufferPointer(start: buffer.base + count, count: size)
        count += size
        return bytes
    }

    /// Writes what the run holds and empties it.
    func flush() -> FileIOError? {
        guard count > 0 else { return nil }
        defer { count = 0 }
        return output.write(UnsafeRawBufferPointer(start: buffer.base, count: count), at: start)
    }
}

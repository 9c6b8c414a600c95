// A worker's stretch of consecutive output bytes, gathered in one buffer, verified, and written with
// one pwrite.
//
// Why: with a pwrite per chunk (~64 KiB) the workers took the output file's inode lock 16k times per
// GiB, spun on it (rwsem_spin_on_owner in perf) and copied into the page cache at ~3× casync's cost
// per byte. Chunks are decoded straight into the run at their place and written a few at a time, so
// the run costs no extra copy. Their hashes are checked together just before the write: several
// chunks at once go through the hasher's vector lanes, and no unverified byte reaches the file.
import Chunks

/// One per worker thread.
final class OutputRun {
    private let output: PartialFile
    private let hasher: ChunkHasher
    private let buffer: ReusableBuffer
    /// The file offset of the run's first byte, and how many bytes the run holds.
    private var start: UInt64 = 0
    private var count = 0
    /// Chunks in the run not yet verified: ID, place in the run, size, and other offsets they go to.
    private var unverified: [(id: ChunkID, at: Int, size: Int, alsoAt: ArraySlice<UInt64>)] = []
    /// Chunks whose bytes did not hash to their ID. A run holding one is never written.
    private(set) var failures: [ChunkStoreError] = []

    /// - Parameter maxChunkSize: the largest chunk the run must take (plus one byte of decoder slack).
    init(output: PartialFile, hasher: ChunkHasher, maxChunkSize: Int) {
        self.output = output
        self.hasher = hasher
        buffer = ReusableBuffer(capacity: max(Self.flushSize(lanes: hasher.usesLanes), maxChunkSize) + 1)
    }

    /// Bytes gathered before a write: small enough that the run is still in the core's L2 cache when
    /// pwrite copies it into the page cache. Measured on 1 GiB random (2 workers, 1 MiB L2): 2 MiB runs
    /// cost 2.2–2.7 system-s, 256 KiB and 128 KiB runs 1.0–1.1 (wall 2.8–3.1 s → 1.8–2.3 s); 64 KiB
    /// (a pwrite per chunk) 1.1–1.2 system-s but more user time. With hashing lanes, a run holds about
    /// eight average chunks, one per lane.
    static func flushSize(lanes: Bool) -> Int { lanes ? 512 << 10 : 256 << 10 }

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

    /// Takes in the `size` bytes just put at the last `slot`, which also belong at `alsoAt`. They
    /// are checked against `id` before anything is written; nil if they are already verified.
    func append(_ size: Int, id: ChunkID?, alsoAt: ArraySlice<UInt64>) -> FileIOError? {
        let at = count
        count += size
        if let id {
            unverified.append((id, at, size, alsoAt))
            return nil
        }
        let bytes = UnsafeRawBufferPointer(start: buffer.base + at, count: size)
        for offset in alsoAt {
            if let error = output.write(bytes, at: offset) { return error }
        }
        return nil
    }

    /// Verifies and writes what the run holds, and empties it.
    func flush() -> FileIOError? {
        defer {
            count = 0
            unverified.removeAll(keepingCapacity: true)
        }
        guard count > 0, verify() else { return nil }
        if let error = output.write(UnsafeRawBufferPointer(start: buffer.base, count: count), at: start) {
            return error
        }
        for chunk in unverified {
            let bytes = UnsafeRawBufferPointer(start: buffer.base + chunk.at, count: chunk.size)
            for offset in chunk.alsoAt {
                if let error = output.write(bytes, at: offset) { return error }
            }
        }
        return nil
    }

    /// Whether every unverified chunk hashes to its ID; records those that do not.
    private func verify() -> Bool {
        guard !unverified.isEmpty else { return true }
        let actual = hasher.ids(of: unverified.map { UnsafeRawBufferPointer(start: buffer.base + $0.at, count: $0.size) })
        var good = true
        for (chunk, id) in zip(unverified, actual) where id != chunk.id {
            failures.append(.invalid(chunk.id, reason: "content hashes to \(id) (\(hasher.digest.rawValue))"))
            good = false
        }
        return good
    }
}

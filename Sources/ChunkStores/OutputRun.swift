// A worker's stretch of consecutive output bytes, gathered in one buffer, verified, and written with
// one pwrite.
//
// Why: with a pwrite per chunk (~64 KiB) the workers took the output file's inode lock 16k times per
// GiB, spun on it (rwsem_spin_on_owner in perf) and copied into the page cache at ~3× casync's cost
// per byte. Chunks are decoded straight into a run at their place and written a few at a time, so
// the run costs no extra copy. No unverified byte reaches the file: a run is written only once
// every chunk in it hashed to its ID.
//
// With hashing lanes (AVX-512), chunks go into a LaneStream as they are decoded and the worker
// keeps a ring of six runs: a run is written when the ring comes back to it, by which time the
// lanes, kept full by the chunks decoded since, have almost always finished its chunks. Without
// lanes, each chunk is hashed right after it is decoded and the ring has one run.
import Chunks

/// One per worker thread.
final class OutputRun {
    private let output: PartialFile
    private let hasher: ChunkHasher
    private let lanes: LaneStream?
    private var ring: [Run]
    private var current = 0
    /// Chunks whose bytes did not hash to their ID. A run holding one is never written.
    private(set) var failures: [ChunkStoreError] = []

    /// Bytes gathered before a write: small enough that the run is still in the core's L2 cache when
    /// pwrite copies it into the page cache. Measured on 1 GiB random (2 workers, 1 MiB L2): 2 MiB runs
    /// cost 2.2–2.7 system-s, 256 KiB and 128 KiB runs 1.0–1.1 (wall 2.8–3.1 s → 1.8–2.3 s); 64 KiB
    /// (a pwrite per chunk) 1.1–1.2 system-s but more user time.
    static let flushSize = 256 << 10
    /// Runs per worker with lanes. On 1 GiB random (extract user-s / system-s): a ring of 3 runs
    /// left the lanes half empty (1.64–1.87 / 0.85–2.2), 4 runs 1.23–1.50 / 0.80–1.32, 6 runs
    /// 0.96–1.25 / 0.80–1.28, 8 and 12 no better; 128 KiB runs × 6 or 8 and 512 KiB × 4 no better.
    static let ringWithLanes = 6
    /// Chunks a run holds at most while they wait for the lanes (room for their digests).
    static let chunksPerRun = 64

    /// - Parameter maxChunkSize: the largest chunk the run must take (plus one byte of decoder slack).
    init(output: PartialFile, hasher: ChunkHasher, maxChunkSize: Int) {
        self.output = output
        self.hasher = hasher
        lanes = LaneStream(hasher.digest)
        let capacity = max(Self.flushSize, maxChunkSize) + 1
        ring = (0..<(lanes == nil ? 1 : Self.ringWithLanes)).map { _ in Run(capacity: capacity, chunks: Self.chunksPerRun) }
    }

    /// Where the `size` bytes that belong at `offset` go (with one byte of slack after them). Moves
    /// to the next run first if they do not extend this one or would overfill it. Call `append`
    /// once they are there.
    func slot(at offset: UInt64, size: Int) -> Result<UnsafeMutableRawPointer, FileIOError> {
        var run = ring[current]
        // A run is in use once it holds a chunk (by count of chunks, not bytes: that holds even
        // for a chunk of no bytes, which an index cannot describe today).
        let inUse = !run.chunks.isEmpty
        let contiguous = inUse && run.start + UInt64(run.count) == offset
        if !contiguous || run.count + size + 1 > run.buffer.capacity || run.chunks.count == Self.chunksPerRun {
            if inUse {
                current = (current + 1) % ring.count
                run = ring[current]
                if let error = complete(run) { return .failure(error) }
            }
            run.start = offset
        }
        // Only an empty run may grow (its chunks are all hashed); size ≤ maxChunkSize keeps it from it.
        if run.chunks.isEmpty { run.buffer.reserve(size + 1) }
        precondition(run.count + size + 1 <= run.buffer.capacity, "run overfilled")
        return .success(run.buffer.base + run.count)
    }

    /// Takes in the `size` bytes just put at the last `slot`, which also belong at `alsoAt`. They
    /// are checked against `id` before anything is written; nil if they are already verified.
    func append(_ size: Int, id: ChunkID?, alsoAt: ArraySlice<UInt64>) {
        let run = ring[current]
        let bytes = UnsafeRawBufferPointer(start: run.buffer.base + run.count, count: size)
        run.count += size
        if let id, let lanes {
            let ticket = lanes.add(bytes, digest: run.digests + 4 * run.chunks.count)
            run.chunks.append(Run.Chunk(id: id, bytes: bytes, alsoAt: alsoAt, ticket: ticket))
            return
        }
        if let id {
            let actual = hasher.id(of: bytes)
            if actual != id {
                failures.append(.contentMismatch(id, hashesTo: actual, hasher.digest))
                run.bad = true
            }
        }
        run.chunks.append(Run.Chunk(id: nil, bytes: bytes, alsoAt: alsoAt, ticket: 0))
    }

    /// Verifies and writes every run, oldest first, and empties them.
    func flush() -> FileIOError? {
        var firstError: FileIOError?
        for k in 1...ring.count {
            if let error = complete(ring[(current + k) % ring.count]), firstError == nil { firstError = error }
        }
        return firstError
    }

    /// Waits for `run`'s chunks to be hashed, then writes it unless one of them is bad, and empties it.
    private func complete(_ run: Run) -> FileIOError? {
        defer { run.empty() }
        guard !run.chunks.isEmpty else { return nil }
        if let lanes, let last = run.chunks.last(where: { $0.id != nil }) {
            lanes.finish(through: last.ticket)
            for (k, chunk) in run.chunks.enumerated() {
                guard let id = chunk.id else { continue }
                let d = run.digests + 4 * k
                let actual = ChunkID(words: (d[0], d[1], d[2], d[3]))
                if actual != id {
                    failures.append(.contentMismatch(id, hashesTo: actual, hasher.digest))
                    run.bad = true
                }
            }
        }
        guard !run.bad else { return nil }
        if let error = output.write(UnsafeRawBufferPointer(start: run.buffer.base, count: run.count), at: run.start) {
            return error
        }
        for chunk in run.chunks {
            for offset in chunk.alsoAt {
                if let error = output.write(chunk.bytes, at: offset) { return error }
            }
        }
        return nil
    }

    /// One buffer of the ring: consecutive output bytes from `start`, and the chunks in them.
    final class Run {
        struct Chunk {
            let id: ChunkID?  // nil: verified already
            let bytes: UnsafeRawBufferPointer
            let alsoAt: ArraySlice<UInt64>
            let ticket: UInt64
        }

        let buffer: ReusableBuffer
        /// Four words per chunk, written by the lanes.
        let digests: UnsafeMutablePointer<UInt64>
        var start: UInt64 = 0
        var count = 0
        var chunks: [Chunk] = []
        var bad = false

        init(capacity: Int, chunks: Int) {
            buffer = ReusableBuffer(capacity: capacity)
            digests = .allocate(capacity: 4 * chunks)
            self.chunks.reserveCapacity(chunks)
        }

        deinit { digests.deallocate() }

        func empty() {
            count = 0
            chunks.removeAll(keepingCapacity: true)
            bad = false
        }
    }
}

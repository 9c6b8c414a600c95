// `make` and `chop`: cut a blob into chunks, name them, and store the new ones — on every core.
//
// Phase 1 finds the cuts (ParallelChunker: identical to a sequential run). Phase 2 hands out small
// batches of chunks to workers from an atomic counter; each worker hashes its chunks and, for a chunk
// no other worker claimed and the store does not hold, compresses and stores it. Chunks already in
// the store are never compressed.
import Chunks
import Dispatch
import Synchronization
import Locks

public struct MakeStatistics: Sendable, Equatable {
    public var chunks = 0
    /// Chunks written by this run.
    public var chunksStored = 0
    /// Chunks the store already held (or that repeat within the blob).
    public var chunksDeduplicated = 0
    public var bytesIn = 0
    /// Bytes written to the store (compressed size for a compressed store).
    public var bytesStored = 0

    public init() {}
}

public enum IndexMaker {
    /// Chunks `bytes`, stores new chunks in `store` (if any) and returns the index.
    public static func make(
        _ bytes: UnsafeRawBufferPointer, parameters: ChunkerParameters, digest: ChunkDigest,
        store: (any WritableChunkStore)?, workers: Int, progress: (@Sendable (Int) -> Void)? = nil
    ) throws(ChunkStoreError) -> (ChunkIndex, MakeStatistics) {
        let cuts = ParallelChunker.cuts(bytes, parameters: parameters, workers: workers)
        let (ids, statistics) = try storeChunks(
            bytes, cuts: cuts, digest: digest, expected: nil, store: store, workers: workers, progress: progress)
        let entries = zip(cuts, ids).map { ChunkIndex.Entry(end: UInt64($0), id: $1) }
        return (ChunkIndex(parameters: parameters, digest: digest, entries: entries), statistics)
    }

    /// `chop`: stores the chunks of `bytes` that `index` names, checking each against its ID.
    public static func chop(
        _ bytes: UnsafeRawBufferPointer, index: ChunkIndex, store: any WritableChunkStore, workers: Int,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws(ChunkStoreError) -> MakeStatistics {
        guard UInt64(bytes.count) == index.blobSize else {
            throw .invalid(index.entries.first?.id ?? ChunkID(words: (0, 0, 0, 0)),
                           reason: "the file has \(bytes.count) bytes, the index describes \(index.blobSize)")
        }
        let cuts = index.entries.map { Int($0.end) }
        return try storeChunks(
            bytes, cuts: cuts, digest: index.digest, expected: index.entries.map(\.id), store: store,
            workers: workers, progress: progress
        ).1
    }

    /// Chunks a worker takes at once. With hashing lanes, enough that lanes which finish early find
    /// another chunk (they take the longest first); else few, so progress is smooth.
    static let batch = ChunkHasher.lanes ? 32 : 8

    static func storeChunks(
        _ bytes: UnsafeRawBufferPointer, cuts: [Int], digest: ChunkDigest, expected: [ChunkID]?,
        store: (any WritableChunkStore)?, workers: Int, progress: (@Sendable (Int) -> Void)?
    ) throws(ChunkStoreError) -> ([ChunkID], MakeStatistics) {
        let ids = UnsafeMutableBufferPointer<ChunkID>.allocate(capacity: cuts.count)
        defer { ids.deallocate() }
        let shared = SharedBytes(bytes: bytes)
        let slots = SharedSlots(slots: ids)
        let next = Atomic<Int>(0)
        let claimed = SanitizedMutex<Set<ChunkID>>([])
        let outcome = SanitizedMutex<(MakeStatistics, ChunkStoreError?)>((MakeStatistics(), nil))
        let batch = Self.batch
        DispatchQueue.concurrentPerform(iterations: max(1, workers)) { _ in
            let bytes = shared.bytes
            let codec = store == nil ? nil : ChunkCodec()
            let hasher = ChunkHasher(digest)
            var local = MakeStatistics()
            var failure: ChunkStoreError?
            work: while outcome.withLock({ $0.1 == nil }) {
                let first = next.wrappingAdd(batch, ordering: .relaxed).oldValue
                if first >= cuts.count { break }
                let taken = first..<min(first + batch, cuts.count)
                let starts = taken.map { k in k == 0 ? 0 : cuts[k - 1] }
                let chunks = zip(starts, taken).map { start, k in UnsafeRawBufferPointer(rebasing: bytes[start..<cuts[k]]) }
                let batchIDs = hasher.ids(of: chunks)
                for k in taken {
                    let start = starts[k - first]
                    let chunk = chunks[k - first]
                    let id = batchIDs[k - first]
                    slots.slots[k] = id
                    local.chunks += 1
                    local.bytesIn += chunk.count
                    if let expected, expected[k] != id {
                        failure = .invalid(expected[k], reason: "the file's bytes \(start)..<\(cuts[k]) hash to \(id)")
                        break work
                    }
                    guard let store, let codec else { continue }
                    do throws(ChunkStoreError) {
                        let repeated = claimed.withLock { !$0.insert(id).inserted }
                        let present = try repeated ? true : store.contains(id)
                        if present {
                            local.chunksDeduplicated += 1
                            continue
                        }
                        let stored = codec.encode(chunk, id: id, form: store.form)
                        try store.store(stored)
                        local.chunksStored += 1
                        local.bytesStored += stored.bytes.count
                    } catch {
                        failure = error
                        break work
                    }
                }
                progress?(cuts[min(first + batch, cuts.count) - 1] - (first == 0 ? 0 : cuts[first - 1]))
            }
            outcome.withLock { state in
                state.0.chunks += local.chunks
                state.0.chunksStored += local.chunksStored
                state.0.chunksDeduplicated += local.chunksDeduplicated
                state.0.bytesIn += local.bytesIn
                state.0.bytesStored += local.bytesStored
                if state.1 == nil, let failure { state.1 = failure }
            }
        }
        let (statistics, failure) = outcome.withLock { $0 }
        if let failure { throw failure }
        return (Array(ids), statistics)
    }
}

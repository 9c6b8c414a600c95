// Chunk stores, in desync's capability ladder: ChunkStore ⊂ WritableChunkStore ⊂ PrunableChunkStore.
//
// Contract shared by every implementation (MemoryChunkStore states it as code):
// - `chunk(_:)` returns the stored bytes unverified; callers decode through ChunkCodec, which checks
//   the digest. A store throws `.missing` only when the chunk is absent in every form.
// - `store(_:)` is idempotent: content addressing means a second write of an ID changes nothing.
// - All methods are safe to call from many threads at once.

public protocol ChunkStore: Sendable {
    func contains(_ id: ChunkID) throws(ChunkStoreError) -> Bool
    func chunk(_ id: ChunkID) throws(ChunkStoreError) -> StoredChunk
}

public protocol WritableChunkStore: ChunkStore {
    /// The form new chunks are written in.
    var form: ChunkForm { get }
    func store(_ chunk: StoredChunk) throws(ChunkStoreError)
}

public protocol PrunableChunkStore: WritableChunkStore {
    /// Removes the chunk in every form; removing an absent chunk is not an error.
    func remove(_ id: ChunkID) throws(ChunkStoreError)
    /// Every chunk ID in the store, in no particular order.
    func allChunkIDs() throws(ChunkStoreError) -> [ChunkID]
}

/// Expected failures of a store; the case decides what a caller does next.
public enum ChunkStoreError: Error, Equatable, CustomStringConvertible {
    /// Not in this store: a router tries the next one.
    case missing(ChunkID)
    /// Present but wrong (bad compression, wrong digest, wrong size): never used, never retried.
    case invalid(ChunkID, reason: String)
    /// I/O failed; the operation may be retried or fail over.
    case unavailable(ChunkID?, reason: String)

    /// A chunk whose bytes hash to `actual` under `digest`: the one wording every reader uses.
    public static func contentMismatch(_ id: ChunkID, hashesTo actual: ChunkID, _ digest: ChunkDigest) -> ChunkStoreError {
        .invalid(id, reason: "content hashes to \(actual) (\(digest.rawValue))")
    }

    public var description: String {
        switch self {
        case .missing(let id): "chunk \(id) is missing from the store"
        case .invalid(let id, let reason): "chunk \(id) is invalid: \(reason)"
        case .unavailable(let id?, let reason): "chunk \(id) could not be accessed: \(reason)"
        case .unavailable(nil, let reason): "chunk store unavailable: \(reason)"
        }
    }
}

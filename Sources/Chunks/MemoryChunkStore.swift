// The in-memory chunk store: the executable statement of the ChunkStore contract.
import Locks

public final class MemoryChunkStore: PrunableChunkStore {
    private let chunks = SanitizedMutex<[ChunkID: StoredChunk]>([:])
    public let form: ChunkForm

    public init(form: ChunkForm = .compressed) {
        self.form = form
    }

    public func contains(_ id: ChunkID) -> Bool {
        chunks.withLock { $0[id] != nil }
    }

    public func chunk(_ id: ChunkID) throws(ChunkStoreError) -> StoredChunk {
        guard let chunk = chunks.withLock({ $0[id] }) else { throw .missing(id) }
        return chunk
    }

    public func store(_ chunk: StoredChunk) {
        chunks.withLock { stored in
            if stored[chunk.id] == nil { stored[chunk.id] = chunk }
        }
    }

    public func remove(_ id: ChunkID) {
        _ = chunks.withLock { $0.removeValue(forKey: id) }
    }

    public func allChunkIDs() -> [ChunkID] {
        chunks.withLock { Array($0.keys) }
    }

    /// Replaces a chunk's bytes without any check: lets tests plant corruption.
    public func overwrite(_ chunk: StoredChunk) {
        chunks.withLock { $0[chunk.id] = chunk }
    }
}

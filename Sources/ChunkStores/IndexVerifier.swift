// verify-index: which chunks of a file do not hash to the IDs an index gives.
import Chunks
import Dispatch
import Synchronization
import Locks

public enum IndexVerifier {
    /// Positions of the index entries whose bytes in `bytes` do not match, in order.
    /// - Precondition: `bytes.count` equals the index's blob size.
    public static func mismatches(_ bytes: UnsafeRawBufferPointer, index: ChunkIndex, workers: Int) -> [Int] {
        precondition(UInt64(bytes.count) == index.blobSize, "file of \(bytes.count) bytes, index of \(index.blobSize)")
        let shared = SharedBytes(bytes: bytes)
        let found = SanitizedMutex<[Int]>([])
        let next = Atomic<Int>(0)
        let digest = index.digest
        // Batches of consecutive entries, hashed together (ChunkHasher's lanes where the CPU has them).
        let batch = 32
        DispatchQueue.concurrentPerform(iterations: max(1, workers)) { _ in
            let hasher = ChunkHasher(digest)
            var local: [Int] = []
            while true {
                let first = next.wrappingAdd(batch, ordering: .relaxed).oldValue
                if first >= index.count { break }
                let taken = first..<min(first + batch, index.count)
                let chunks = taken.map { k in
                    UnsafeRawBufferPointer(rebasing: shared.bytes[Int(index.start(of: k))..<Int(index.entries[k].end)])
                }
                for (k, id) in zip(taken, hasher.ids(of: chunks)) where id != index.entries[k].id { local.append(k) }
            }
            found.withLock { $0.append(contentsOf: local) }
        }
        return found.withLock { $0 }.sorted()
    }
}

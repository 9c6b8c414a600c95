// verify-index: which chunks of a file do not hash to the IDs an index gives.
import Chunks
import Dispatch
import Synchronization

public enum IndexVerifier {
    /// Positions of the index entries whose bytes in `bytes` do not match, in order.
    /// - Precondition: `bytes.count` equals the index's blob size.
    public static func mismatches(_ bytes: UnsafeRawBufferPointer, index: ChunkIndex, workers: Int) -> [Int] {
        precondition(UInt64(bytes.count) == index.blobSize, "file of \(bytes.count) bytes, index of \(index.blobSize)")
        let shared = SharedBytes(bytes: bytes)
        let found = Mutex<[Int]>([])
        let stride = max(1, workers)
        let digest = index.digest
        DispatchQueue.concurrentPerform(iterations: stride) { worker in
            var local: [Int] = []
            for k in Swift.stride(from: worker, to: index.count, by: stride) {
                let start = Int(index.start(of: k))
                let chunk = UnsafeRawBufferPointer(rebasing: shared.bytes[start..<Int(index.entries[k].end)])
                if digest.id(of: chunk) != index.entries[k].id { local.append(k) }
            }
            found.withLock { $0.append(contentsOf: local) }
        }
        return found.withLock { $0 }.sorted()
    }
}

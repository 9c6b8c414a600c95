// Chunking one buffer on several threads with cuts identical to a sequential run.
//
// The buffer is split into spans; a worker chunks each span from its first byte, as if a chunk
// started there, and stops at its first cut at or past the span's end. Because the chunker resets at
// every cut, once the true (sequential) chain of cuts lands on any cut of a worker — or on the
// worker's start — every later cut of that worker is a true cut too. Stitching walks the true chain
// from the previous span's last true cut, chunking sequentially until it meets the next worker's
// chain (usually within a chunk or two), then adopts that worker's cuts. If it never meets (a long
// zero run makes only max-size chunks, shifted against each other), the walk simply goes on:
// correctness never depends on meeting, only speed does.
import Chunks
import Dispatch
import Synchronization
import Locks

public enum ParallelChunker {
    /// Spans per worker: a worker that finishes early takes another span instead of waiting for the
    /// slowest one. With one span per worker, measured on 1 GiB (2 workers, a shared host), one core
    /// sat idle ~0.2 s at the end of this phase; each extra span costs the stitch a chunk or two of
    /// sequential hashing (~0.2 ms).
    static let spansPerWorker = 16

    /// Every cut of `bytes` (see `Chunker.cuts`), computed by `workers` threads.
    /// - Parameter spanSizeMin: the smallest span worth a worker; the default keeps many chunks per span,
    ///   or re-synchronising would cost more than it saves. Tests lower it to stitch many spans.
    public static func cuts(
        _ bytes: UnsafeRawBufferPointer, parameters: ChunkerParameters, workers: Int, spanSizeMin: Int? = nil
    ) -> [Int] {
        let spanSizeMin = spanSizeMin ?? max(parameters.chunkSizeMax * 16, 4 << 20)
        let spanCount = max(1, min(workers * spansPerWorker, bytes.count / max(1, spanSizeMin)))
        if spanCount <= 1 || workers <= 1 { return Chunker.cuts(bytes, parameters: parameters) }
        let spanSize = bytes.count / spanCount
        let starts = (0..<spanCount).map { $0 * spanSize }
        let chains = SanitizedMutex<[[Int]]>(Array(repeating: [], count: spanCount))
        let next = Atomic<Int>(0)
        let shared = SharedBytes(bytes: bytes)
        DispatchQueue.concurrentPerform(iterations: min(workers, spanCount)) { _ in
            let bytes = shared.bytes
            while true {
                let span = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if span >= spanCount { break }
                let spanEnd = span + 1 < spanCount ? starts[span + 1] : bytes.count
                var chain: [Int] = []
                chain.reserveCapacity(spanSize / parameters.chunkSizeAverage + 16)
                var position = starts[span]
                while position < spanEnd {
                    position = Chunker.cut(bytes, from: position, parameters: parameters)
                    chain.append(position)
                }
                chains.withLock { $0[span] = chain }
            }
        }
        return stitch(bytes, parameters: parameters, starts: starts, chains: chains.withLock { $0 })
    }

    static func stitch(_ bytes: UnsafeRawBufferPointer, parameters: ChunkerParameters, starts: [Int], chains: [[Int]]) -> [Int] {
        var result = chains[0]
        for span in 1..<chains.count {
            let chain = chains[span]
            var position = result.last ?? 0
            while position < bytes.count {
                if position == starts[span] {
                    result.append(contentsOf: chain)
                    break
                }
                if let k = binarySearch(chain, position) {
                    result.append(contentsOf: chain[(k + 1)...])
                    break
                }
                if let last = chain.last, position > last { break }  // passed this worker; try the next
                position = Chunker.cut(bytes, from: position, parameters: parameters)
                result.append(position)
            }
        }
        // The last worker stops at the end of the buffer; if the walk passed it, finish sequentially.
        var position = result.last ?? 0
        while position < bytes.count {
            position = Chunker.cut(bytes, from: position, parameters: parameters)
            result.append(position)
        }
        return result
    }

    static func binarySearch(_ sorted: [Int], _ value: Int) -> Int? {
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low < sorted.count && sorted[low] == value ? low : nil
    }
}

// casync's content-defined chunker as a pure function over a buffer.
//
// A chunk starting at `s` ends after the first byte p for which the 48-byte window ending at p has
// a buzhash h with h % d == d − 1, looking no earlier than s + max(min, 48) — casync tests the window
// that ends at exactly `min` (desync before its PR #393 did not) — and no later than s + max, where
// the cut is forced. The hash state resets at every cut, so a cut depends only on the bytes since
// the previous one: that is what lets parallel chunkers re-synchronise (see ParallelChunker).

public enum Chunker {
    /// The end (exclusive) of the chunk that starts at `start`; `bytes.count` ends the last chunk.
    /// - Precondition: `start < bytes.count`.
    public static func cut(_ bytes: UnsafeRawBufferPointer, from start: Int, parameters: ChunkerParameters) -> Int {
        let end = bytes.count
        precondition(start >= 0 && start < end, "chunk start \(start) outside 0..<\(end)")
        if parameters.isFixedSize {
            return start + min(parameters.chunkSizeAverage, end - start)
        }
        let firstTest = max(parameters.chunkSizeMin, BuzHash.windowSize)
        if end - start <= firstTest { return end }

        var h = BuzHash.windowHash(bytes, end: start + firstTest)
        let d = UInt64(parameters.discriminator)
        if firstTest >= parameters.chunkSizeMax || isCut(h, d) { return start + firstTest }

        let limit = min(start + parameters.chunkSizeMax, end)
        return BuzHash.table.withUnsafeBufferPointer { entering in
            BuzHash.leavingTable.withUnsafeBufferPointer { leaving in
                let p = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                // Lemire's fastmod: h % d from one multiply-high, no division per byte.
                let m = UInt64.max / d &+ 1
                let target = d &- 1
                var i = start + firstTest
                while i < limit {
                    h = ((h &<< 1) | (h &>> 31)) ^ leaving[Int(p[i &- 48])] ^ entering[Int(p[i])]
                    i &+= 1
                    if (m &* UInt64(h)).multipliedFullWidth(by: d).high == target { return i }
                }
                return limit
            }
        }
    }

    @inline(__always)
    static func isCut(_ h: UInt32, _ d: UInt64) -> Bool {
        UInt64(h) % d == d - 1
    }

    /// Every cut of `bytes` from `start` on, in order; the last is `bytes.count` unless empty.
    public static func cuts(
        _ bytes: UnsafeRawBufferPointer, from start: Int = 0, parameters: ChunkerParameters
    ) -> [Int] {
        var result: [Int] = []
        var position = start
        while position < bytes.count {
            position = cut(bytes, from: position, parameters: parameters)
            result.append(position)
        }
        return result
    }
}

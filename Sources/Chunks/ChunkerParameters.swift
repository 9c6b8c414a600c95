// Chunk size parameters and the discriminator derived from them, exactly as casync computes them.

public struct ChunkerParameters: Hashable, Sendable, CustomStringConvertible {
    public let chunkSizeMin: Int
    public let chunkSizeAverage: Int
    public let chunkSizeMax: Int
    /// A cut follows a window whose hash `h` satisfies `h % discriminator == discriminator - 1`.
    public let discriminator: UInt32

    /// casync's limits for each of min, avg and max (CA_CHUNK_SIZE_LIMIT_MIN/MAX).
    public static let limits: ClosedRange<Int> = 1...(128 << 20)

    /// 16 KiB / 64 KiB / 256 KiB, the default of casync and desync (discriminator 49 535).
    public static let `default` = try! ChunkerParameters(min: 16 << 10, average: 64 << 10, max: 256 << 10)

    public init(min: Int, average: Int, max: Int) throws(ChunkerParametersError) {
        for (name, value) in [("min", min), ("avg", average), ("max", max)] where !Self.limits.contains(value) {
            throw .outOfRange(name: name, value: value)
        }
        guard min <= average, average <= max else { throw .notOrdered(min: min, average: average, max: max) }
        let fixed = min == average && average == max
        // casync tests its first window only once 48 bytes are in it, so a chunk can never be smaller
        // than the window unless it ends the input. With max below that, casync would write chunks
        // larger than max and then refuse its own index; we refuse the parameters instead.
        guard fixed || max >= BuzHash.windowSize else { throw .maxBelowWindow(max: max) }
        chunkSizeMin = min
        chunkSizeAverage = average
        chunkSizeMax = max
        discriminator = UInt32(Swift.min(Swift.max(Self.discriminator(average: average), min), max))
    }

    /// casync's CA_CHUNKER_DISCRIMINATOR_FROM_AVG, in double precision, truncated toward zero.
    /// The empirical fit makes the mean chunk size come out near `avg` when min = avg/4, max = 4·avg.
    public static func discriminator(average: Int) -> Int {
        let avg = Double(average)
        return Int(avg / (-1.42888852e-7 * avg + 1.33237515))
    }

    /// Parses desync's `-m min:avg:max` (KiB each).
    public init(desyncKiB text: String) throws(ChunkerParametersError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let values = parts.map { Int($0) }
        guard parts.count == 3, let min = values[0], let avg = values[1], let max = values[2] else {
            throw .malformed(text)
        }
        let (kmin, minOverflow) = min.multipliedReportingOverflow(by: 1024)
        let (kavg, avgOverflow) = avg.multipliedReportingOverflow(by: 1024)
        let (kmax, maxOverflow) = max.multipliedReportingOverflow(by: 1024)
        guard !minOverflow, !avgOverflow, !maxOverflow else { throw .malformed(text) }
        try self.init(min: kmin, average: kavg, max: kmax)
    }

    var isFixedSize: Bool { chunkSizeMin == chunkSizeAverage && chunkSizeAverage == chunkSizeMax }

    public var description: String { "\(chunkSizeMin):\(chunkSizeAverage):\(chunkSizeMax)" }
}

public enum ChunkerParametersError: Error, Equatable, CustomStringConvertible {
    case outOfRange(name: String, value: Int)
    case notOrdered(min: Int, average: Int, max: Int)
    case maxBelowWindow(max: Int)
    case malformed(String)

    public var description: String {
        switch self {
        case .outOfRange(let name, let value):
            "chunk size \(name) \(value) is outside casync's limits 1…\(128 << 20) bytes"
        case .notOrdered(let min, let average, let max):
            "chunk sizes must satisfy min ≤ avg ≤ max, got \(min):\(average):\(max) bytes"
        case .maxBelowWindow(let max):
            "chunk size max \(max) is below the 48-byte rolling window (only fixed-size chunking allows that)"
        case .malformed(let text):
            "chunk sizes '\(text)' are not min:avg:max in KiB (for example 16:64:256)"
        }
    }
}

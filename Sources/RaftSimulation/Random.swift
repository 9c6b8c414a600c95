// The simulator's only source of randomness: xoshiro256** seeded through SplitMix64, so a run is
// a pure function of its seed on every machine and Swift version.

import Raft

public struct SimulationRandom: Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = SplitMix64(seed: seed)
        s = (mix.next(), mix.next(), mix.next(), mix.next())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in `0..<bound` (modulo; the bias is negligible and the mapping is fixed forever).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next() % UInt64(bound))
    }

    public mutating func between(_ low: Int, _ high: Int) -> Int {
        precondition(low <= high)
        return low + below(high - low + 1)
    }

    /// True with probability `permille`/1000.
    public mutating func chance(_ permille: Int) -> Bool { below(1000) < permille }

    public mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[below(items.count)]
    }
}

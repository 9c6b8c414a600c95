// The three numbers Raft is made of, as distinct types so an index can never be passed as a term
// (TigerBeetle's lesson: units in types, not in names).

/// A Raft term: a logical clock that increases with every election (§5.1 of the paper).
public struct Term: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }
    public static func < (a: Term, b: Term) -> Bool { a.rawValue < b.rawValue }
    public var next: Term { Term(rawValue + 1) }
    public var description: String { String(rawValue) }
}

/// A position in the replicated log. Index 0 is the empty log; the first entry has index 1.
public struct LogIndex: RawRepresentable, Hashable, Comparable, Strideable, Sendable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }
    public static func < (a: LogIndex, b: LogIndex) -> Bool { a.rawValue < b.rawValue }
    public func distance(to other: LogIndex) -> Int { Int(other.rawValue) - Int(rawValue) }
    public func advanced(by n: Int) -> LogIndex {
        precondition(n >= 0 || UInt64(-n) <= rawValue, "log index underflow")
        return LogIndex(n >= 0 ? rawValue + UInt64(n) : rawValue - UInt64(-n))
    }
    public var next: LogIndex { LogIndex(rawValue + 1) }
    public var previous: LogIndex {
        precondition(rawValue > 0, "index 0 has no predecessor")
        return LogIndex(rawValue - 1)
    }
    public var description: String { String(rawValue) }
}

/// The stable identity of a replica (a member of the consensus group). 0 is reserved for "none".
public struct ReplicaID: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) {
        precondition(rawValue != 0, "replica id 0 is reserved")
        self.rawValue = rawValue
    }
    public init(_ rawValue: UInt64) { self.init(rawValue: rawValue) }
    public init(integerLiteral value: UInt64) { self.init(rawValue: value) }
    public static func < (a: ReplicaID, b: ReplicaID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable generator whose output is fixed by
/// its seed on every platform and Swift version. The core draws election timeouts from it, so a
/// replica's behaviour is a function of its inputs and its seed only.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A value in `0..<bound`, by modulo: the tiny bias is irrelevant here, and unlike
    /// `Int.random(in:using:)` the mapping can never change under us.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next() % UInt64(bound))
    }
}

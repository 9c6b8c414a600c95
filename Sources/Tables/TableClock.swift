// Time is handed in: the table never reads a system clock. TTLs are measured on the injected
// clock, whose instants are nanoseconds on any monotonic scale the caller picks.
import Synchronization

public struct TableInstant: Comparable, Hashable, Sendable {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func < (a: Self, b: Self) -> Bool { a.nanoseconds < b.nanoseconds }

    public func advanced(by duration: Duration) -> TableInstant {
        TableInstant(nanoseconds: nanoseconds.addingClamped(duration.nanoseconds))
    }
}

public protocol TableClock: Sendable {
    func now() -> TableInstant
}

/// A clock that moves only when told to: the reference implementation, for tests and simulation.
public final class ManualClock: TableClock {
    private let current: Atomic<Int64>
    public init(_ start: TableInstant = TableInstant(nanoseconds: 0)) { current = Atomic(start.nanoseconds) }
    public func now() -> TableInstant { TableInstant(nanoseconds: current.load(ordering: .acquiring)) }
    public func advance(by duration: Duration) {
        current.add(duration.nanoseconds, ordering: .acquiringAndReleasing)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to Int64.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole.addingClamped(attoseconds / 1_000_000_000)
    }
}

extension Int64 {
    func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        if overflow { return other < 0 ? .min : .max }
        return sum
    }
}

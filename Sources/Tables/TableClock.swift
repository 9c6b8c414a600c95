// Time is handed in: the table never reads a system clock. TTLs are measured on the injected
// clock, whose instants are nanoseconds on any monotonic scale the caller picks.
import Synchronization

package struct TableInstant: Comparable, Hashable, Sendable {
    package var nanoseconds: Int64
    package init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    package static func < (a: Self, b: Self) -> Bool { a.nanoseconds < b.nanoseconds }

    package func advanced(by duration: Duration) -> TableInstant {
        TableInstant(nanoseconds: nanoseconds.addingClamped(duration.nanoseconds))
    }
}

package protocol TableClock: Sendable {
    func now() -> TableInstant
}

/// A clock that moves only when told to: the reference implementation, for tests and simulation.
package final class ManualClock: TableClock {
    private let current: Atomic<Int64>
    package init(_ start: TableInstant = TableInstant(nanoseconds: 0)) { current = Atomic(start.nanoseconds) }
    package func now() -> TableInstant { TableInstant(nanoseconds: current.load(ordering: .acquiring)) }
    package func advance(by duration: Duration) {
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

// A progress bar on stderr, drawn only when stderr is a terminal, at most ten times a second.
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

final class ProgressBar: Sendable {
    private let label: String
    private let total: Int
    private let done = Atomic<Int>(0)
    private let lastDrawn = Atomic<Int>(0)
    private let enabled: Bool

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
        enabled = isatty(2) != 0
    }

    /// A closure for the pipelines, or nil when nothing would be drawn.
    var reporter: (@Sendable (Int) -> Void)? {
        guard enabled else { return nil }
        return { @Sendable [self] count in add(count) }
    }

    func add(_ count: Int) {
        let now = done.wrappingAdd(count, ordering: .relaxed).newValue
        let milliseconds = Self.milliseconds()
        let last = lastDrawn.load(ordering: .relaxed)
        guard milliseconds - last >= 100,
            lastDrawn.compareExchange(expected: last, desired: milliseconds, ordering: .relaxed).exchanged
        else { return }
        draw(now)
    }

    func finish() {
        guard enabled else { return }
        draw(total)
        printError("")
    }

    private func draw(_ value: Int) {
        let fraction = min(1, Double(value) / Double(total))
        let width = 40
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var line = "\r\(label) [\(bar)] \(Int(fraction * 100))%"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    private static func milliseconds() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t.tv_sec * 1000 + t.tv_nsec / 1_000_000
    }
}

// Placeholder: replaced by the suite's real measurements.
enum RaftCoreSuite {
    struct NotBuilt: Error, CustomStringConvertible { var description: String { "suite not built yet" } }
    static func run(_ report: inout Report, _ arguments: [String]) throws { throw NotBuilt() }
}

/// `kura-sim check-history FILE [--model kv|asset|authority] [--steps-max N] [--timeout SECONDS]`
/// without its IO: the shell hands in how to read a file and how to make a deadline.
///
/// Exit status: 0 linearizable, 1 not linearizable (the window is printed), 2 malformed input or
/// arguments (the message names the line and the problem), 3 unknown (the step budget or the
/// timeout ran out before a verdict).
package enum CheckHistoryTool {
    package enum Status: Int32, Sendable {
        case linearizable = 0
        case notLinearizable = 1
        case malformed = 2
        case unknown = 3
    }

    /// What the shell provides.
    package struct Environment {
        /// The file's text, or why it cannot be read.
        package var readFile: (String) -> Result<String, LineProblem>
        /// A predicate that turns true once `timeout` has passed from now.
        package var deadline: (Duration) -> () -> Bool

        package init(
            readFile: @escaping (String) -> Result<String, LineProblem>,
            deadline: @escaping (Duration) -> () -> Bool
        ) {
            self.readFile = readFile
            self.deadline = deadline
        }
    }

    package static let usage =
        "usage: kura-sim check-history FILE [--model kv|asset|authority] [--steps-max N] [--timeout SECONDS]"

    /// Runs the command; returns the exit status and the lines to print (on standard error when
    /// the status is `.malformed`, else on standard output).
    package static func run(_ arguments: [String], environment: Environment) -> (status: Status, lines: [String]) {
        let options: Options
        switch Options.parse(arguments) {
        case .success(let parsed): options = parsed
        case .failure(let problem): return (.malformed, [problem.message, usage])
        }
        let text: String
        switch environment.readFile(options.file) {
        case .success(let contents): text = contents
        case .failure(let problem): return (.malformed, ["\(options.file): \(problem.message)"])
        }
        let budget = CheckBudget(
            stepsMax: options.stepsMax, shouldStop: options.timeout.map(environment.deadline))
        switch options.model {
        case "asset": return check(text, file: options.file, format: AssetLineFormat(), budget: budget)
        case "authority": return check(text, file: options.file, format: AuthorityLineFormat(), budget: budget)
        default: return check(text, file: options.file, format: KVLineFormat(), budget: budget)
        }
    }

    private static func check<F: HistoryLineFormat>(
        _ text: String, file: String, format: F, budget: CheckBudget
    ) -> (status: Status, lines: [String]) {
        let history: History<F.M>
        do { history = try readHistory(text, format: format) } catch {
            return (.malformed, ["\(file): \(error)"])
        }
        let operations = history.allOperations
        let partitionCount = Set(operations.map { format.model.partition($0.input) }).count
        let summary =
            "\(operations.count) operations (\(history.failedCount) failed ones dropped) "
            + "over \(partitionCount) partitions"
        switch checkLinearizability(history, model: format.model, budget: budget) {
        case .linearizable:
            return (.linearizable, ["linearizable: \(summary)"])
        case .notLinearizable(let window):
            return (.notLinearizable,
                    ["not linearizable: \(summary)"] + window.describe(model: format.model, positionName: "line"))
        case .unknown(let undecided):
            let names = undecided.prefix(10).map { format.model.describe(partition: $0) }
            return (.unknown, [
                "unknown: the budget ran out before \(undecided.count) partition(s) were decided "
                    + "(\(names.joined(separator: ", "))); \(summary)"
            ])
        }
    }

    private struct Options {
        var file = ""
        var model = "kv"
        var stepsMax = 10_000_000
        var timeout: Duration?

        static func parse(_ arguments: [String]) -> Result<Options, LineProblem> {
            var options = Options()
            var files: [String] = []
            var rest = arguments[...]
            while let argument = rest.popFirst() {
                guard argument.hasPrefix("--") else {
                    files.append(argument)
                    continue
                }
                guard let value = rest.popFirst() else { return .failure(LineProblem("\(argument) needs a value")) }
                switch argument {
                case "--model":
                    guard ["kv", "asset", "authority"].contains(value) else {
                        return .failure(LineProblem("unknown model \"\(value)\" (expected kv, asset or authority)"))
                    }
                    options.model = value
                case "--steps-max":
                    guard let steps = Int(value), steps > 0 else {
                        return .failure(LineProblem("--steps-max needs a positive integer, got \"\(value)\""))
                    }
                    options.stepsMax = steps
                case "--timeout":
                    guard let seconds = Double(value), seconds > 0, seconds.isFinite else {
                        return .failure(LineProblem("--timeout needs a positive number of seconds, got \"\(value)\""))
                    }
                    options.timeout = .milliseconds(Int64(seconds * 1000))
                default:
                    return .failure(LineProblem("unknown option \(argument)"))
                }
            }
            guard files.count == 1 else { return .failure(LineProblem("expected exactly one FILE")) }
            options.file = files[0]
            return .success(options)
        }
    }
}

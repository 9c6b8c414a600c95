// `kura-sim check-history`: the shell around `CheckHistoryTool` (Linearizability), which holds the
// logic; this file only reads the file, supplies the clock for --timeout, and prints.
import Foundation
import Linearizability

enum CheckHistoryCommand {
    static func run(_ arguments: [String]) -> Int32 {
        let environment = CheckHistoryTool.Environment(readFile: readFile, deadline: deadline)
        let (status, lines) = CheckHistoryTool.run(arguments, environment: environment)
        for line in lines {
            if status == .malformed {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            } else {
                print(line)
            }
        }
        return status.rawValue
    }

    private static func readFile(_ path: String) -> Result<String, LineProblem> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(LineProblem("cannot read the file"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(LineProblem("the file is not UTF-8 text"))
        }
        return .success(text)
    }

    private static func deadline(_ timeout: Duration) -> () -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: timeout)
        return { clock.now >= end }
    }
}

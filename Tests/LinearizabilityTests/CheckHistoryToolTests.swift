import Foundation
import Linearizability
import Testing

/// The `check-history` command on files in a temporary directory: exit codes and messages.
@Suite struct CheckHistoryToolTests {
    /// Writes `lines` to a file and runs the command on it with `options`.
    private func run(_ lines: [String], _ options: [String] = ["--model", "kv"]) throws
        -> (status: Int32, output: String)
    {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kura-lin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("history.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let environment = CheckHistoryTool.Environment(
            readFile: { path in
                guard let data = FileManager.default.contents(atPath: path) else {
                    return .failure(LineProblem("cannot read the file"))
                }
                return .success(String(decoding: data, as: UTF8.self))
            },
            deadline: { timeout in
                let end = ContinuousClock.now.advanced(by: timeout)
                return { ContinuousClock.now >= end }
            })
        let (status, output) = CheckHistoryTool.run([file.path] + options, environment: environment)
        return (status.rawValue, output.joined(separator: "\n"))
    }

    private func line(_ process: String, _ type: String, _ f: String, _ key: String, _ value: String? = nil)
        -> String
    {
        "{\"process\":\(process),\"type\":\"\(type)\",\"f\":\"\(f)\",\"key\":\"\(key)\""
            + (value.map { ",\"value\":\($0)" } ?? "") + "}"
    }

    @Test func linearizableHistoryExitsZero() throws {
        let (status, output) = try run([
            "\u{FEFF}" + line("1", "invoke", "write", "x", "1") + "\r",
            "",
            line("\"client-b\"", "invoke", "read", "x", "null"),
            line("1", "ok", "write", "x", "1"),
            line("\"client-b\"", "ok", "read", "x", "1"),
            line("1", "invoke", "cas", "x", "[1,2]"),
            line("1", "ok", "cas", "x", "[1,2]"),
            line("2", "invoke", "cas", "x", "[7,8]"),
            line("2", "fail", "cas", "x", "[7,8]"),
            line("3", "invoke", "write", "y", "5"),
            line("3", "info", "write", "y", "5"),
            line("4", "invoke", "read", "y"),
            "{\"process\":4,\"type\":\"ok\",\"f\":\"read\",\"key\":\"y\",\"value\":null,\"time\":12345}",
            line("5", "invoke", "write", "z", "1"),
        ])
        #expect(status == 0, "\(output)")
        #expect(output.hasPrefix("linearizable: 6 operations (1 failed ones dropped) over 3 partitions"))
    }

    @Test func staleReadExitsOneAndPrintsTheWindow() throws {
        let (status, output) = try run([
            line("1", "invoke", "write", "x", "1"),
            line("1", "ok", "write", "x", "1"),
            line("2", "invoke", "write", "y", "1"),
            line("2", "ok", "write", "y", "1"),
            line("1", "invoke", "write", "x", "2"),
            line("1", "ok", "write", "x", "2"),
            line("3", "invoke", "read", "x", "null"),
            line("3", "ok", "read", "x", "1"),
            line("3", "invoke", "read", "x", "null"),
            line("3", "ok", "read", "x", "2"),
        ])
        #expect(status == 1)
        let expected = """
            not linearizable: 5 operations (0 failed ones dropped) over 2 partitions
            key "x": the window up to line 8 (3 of its 4 operations) cannot be linearized; these 2 result(s) admit no valid order:
              process 1  write x 2 -> ok  invoked at line 5, completed at line 6
              process 3  read x -> 1      invoked at line 7, completed at line 8
              even though the window's other 1 operation(s) may each have taken effect or not:
              process 1  write x 1        invoked at line 1, completed at line 2
            """
        #expect(output == expected)
    }

    @Test(arguments: [
        ("{\"process\":1,", 1, "invalid JSON at column 14"),
        ("[1,2]", 1, "a line must be a JSON object"),
        ("{\"process\":1,\"type\":\"invok\",\"f\":\"read\",\"key\":\"x\"}", 1, "unknown type \"invok\""),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"delete\",\"key\":\"x\"}", 1, "unknown f \"delete\""),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}", 1, "missing field \"key\""),
        ("{\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}", 1, "missing field \"process\""),
        ("{\"process\":1,\"f\":\"read\",\"key\":\"x\"}", 1, "missing field \"type\""),
        ("{\"process\":1.5,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}", 1, "\"process\" must be an integer or a string"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":1.5}", 1, "value 1.5 is not an integer"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":99999999999999999999}", 1, "out of range"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":true}", 1, "must be an integer or null"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\"}", 1, "missing field \"value\""),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"x\",\"value\":3}", 1, "cas value [old,new] must be a 2-element array"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"x\",\"value\":[1,2,3]}", 1, "2-element array"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"x\",\"value\":[1,\"a\"]}", 1, "new value must be an integer or null"),
        ("{\"process\":1,\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}", 1, "duplicate member \"process\""),
        ("{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":1}", 1, "no pending invoke"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}\n{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}",
         2, "invokes again while its operation from line 1 has not completed"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}\n\n{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\"}",
         3, "missing field \"value\" (the value read)"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}\n{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\"}",
         2, "does not match the invoke on line 1"),
        ("{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}\n{\"process\":1,\"type\":\"info\",\"f\":\"read\",\"key\":\"x\",\"value\":{}}",
         2, "must be an integer or null"),
    ])
    func malformedInputExitsTwoNamingTheLine(text: String, lineNumber: Int, problem: String) throws {
        let (status, output) = try run([text])
        #expect(status == 2)
        #expect(output.contains("history.jsonl: line \(lineNumber): "), "\(output)")
        #expect(output.contains(problem), "\(output)")
    }

    @Test func badArgumentsExitTwo() throws {
        #expect(try run([], ["--model", "graph"]).status == 2)
        #expect(try run([], ["--steps-max"]).status == 2)
        #expect(try run([], ["--frobnicate", "1"]).status == 2)
        let environment = CheckHistoryTool.Environment(
            readFile: { _ in .failure(LineProblem("cannot read the file")) }, deadline: { _ in { false } })
        #expect(CheckHistoryTool.run(["/nonexistent"], environment: environment).status == .malformed)
        #expect(CheckHistoryTool.run([], environment: environment).status == .malformed)
    }

    @Test func exhaustedBudgetExitsThree() throws {
        var lines: [String] = []
        for p in 1...10 { lines.append(line("\(p)", "invoke", "write", "x", "\(p)")) }
        for p in 1...10 { lines.append(line("\(p)", "ok", "write", "x", "\(p)")) }
        lines += [line("11", "invoke", "read", "x"), line("11", "ok", "read", "x", "3")]
        let (status, output) = try run(lines, ["--model", "kv", "--steps-max", "3"])
        #expect(status == 3)
        #expect(output.hasPrefix("unknown: the budget ran out before 1 partition(s) were decided (key \"x\")"))
        #expect(try run(lines, ["--timeout", "30"]).status == 0)
    }

    @Test func assetModel() throws {
        let good = [
            line("1", "invoke", "publish", "a", "[1,10]"),
            line("1", "ok", "publish", "a"),
            line("2", "invoke", "publish", "a", "[1,11]"),
            line("2", "fail", "publish", "a"),
            line("2", "invoke", "get", "a"),
            line("2", "ok", "get", "a", "[1,10]"),
        ]
        #expect(try run(good, ["--model", "asset"]).status == 0)
        let forked = [
            line("1", "invoke", "publish", "a", "[1,10]"),
            line("2", "invoke", "publish", "a", "[1,11]"),
            line("1", "ok", "publish", "a"),
            line("2", "ok", "publish", "a"),
        ]
        let (status, output) = try run(forked, ["--model", "asset"])
        #expect(status == 1)
        #expect(output.contains("asset \"a\""))
    }

    @Test func authorityModel() throws {
        let stale = [
            line("1", "invoke", "transfer", "e", "[0,1]"),
            line("1", "ok", "transfer", "e"),
            line("2", "invoke", "transfer", "e", "[1,2]"),
            line("2", "ok", "transfer", "e"),
            line("1", "invoke", "update", "e", "[1,1]"),
            line("1", "ok", "update", "e"),
        ]
        let (status, output) = try run(stale, ["--model", "authority"])
        #expect(status == 1)
        #expect(output.contains("update e [1,1] -> accepted"), "\(output)")
        let read = [
            line("1", "invoke", "transfer", "e", "[0,7]"),
            line("1", "ok", "transfer", "e"),
            line("2", "invoke", "read", "e"),
            line("2", "ok", "read", "e", "[7,1]"),
        ]
        #expect(try run(read, ["--model", "authority"]).status == 0)
    }
}

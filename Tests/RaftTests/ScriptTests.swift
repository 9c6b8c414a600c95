// Golden scenario tests: each Scripts/*.txt file is a list of commands, each followed by `----`
// and the output the harness must print (etcd-raft's data-driven format). A blank line ends an
// output block; lines starting with `#` are comments. Run with UPDATE_GOLDEN=1 to rewrite the
// expected output from the actual one, then review the diff.

import Foundation
import Testing

@Suite struct ScriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")

    static var scripts: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test(arguments: scripts)
    func script(_ name: String) throws {
        let url = Self.directory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        let blocks = Self.parse(text)
        #expect(!blocks.isEmpty, "empty script \(name)")
        let updating = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"
        var harness = InteractionHarness()
        var rewritten: [String] = []
        for block in blocks {
            harness.output = []
            if let command = block.command {
                do { try harness.run(command) } catch { harness.emit("error: \(error)") }
                let actual = harness.output.isEmpty ? ["ok"] : harness.output
                #expect(updating || actual == block.expected, "\(name): `\(command)` printed:\n\(actual.joined(separator: "\n"))")
                rewritten.append(([command, "----"] + actual).joined(separator: "\n"))
            } else {
                rewritten.append(block.comment.joined(separator: "\n"))
            }
        }
        // The harness checks safety after every command: only a script with a planted bug may
        // report a violation, and it must.
        let violated = rewritten.contains { $0.contains("INVARIANT VIOLATED") }
        #expect(violated == name.contains("planted_bug"), "\(name): violation reported: \(violated)")
        if updating {
            try (rewritten.joined(separator: "\n\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
    }

    struct Block {
        var comment: [String] = []
        var command: String?
        var expected: [String] = []
    }

    /// Splits a script into comment blocks and command blocks.
    static func parse(_ text: String) -> [Block] {
        var blocks: [Block] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        while let line = lines.first {
            lines = lines.dropFirst()
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if line.hasPrefix("#") {
                var comment = [line]
                while let next = lines.first, next.hasPrefix("#") {
                    comment.append(next)
                    lines = lines.dropFirst()
                }
                blocks.append(Block(comment: comment))
                continue
            }
            var block = Block(command: line)
            if lines.first == "----" {
                lines = lines.dropFirst()
                while let next = lines.first, !next.isEmpty {
                    block.expected.append(next)
                    lines = lines.dropFirst()
                }
            }
            blocks.append(block)
        }
        return blocks
    }
}

// kura-bench SUITE [--json] [suite options]: each figure beside its peer's, measured in the same run.
// Suites live one per file (ChunksSuite.swift, TablesSuite.swift, RaftCoreSuite.swift, …).
#if canImport(Glibc)
import Glibc
#endif

let suites: [String: (inout Report, [String]) throws -> Void] = [
    "chunks": ChunksSuite.run,
    "tables": TablesSuite.run,
    "raft-core": RaftCoreSuite.run,
    "global": GlobalSuite.run,
    "raft": RaftSuite.run,
    "replication": ReplicationSuite.run,
]

var arguments = Array(CommandLine.arguments.dropFirst())
let json = arguments.contains("--json")
arguments.removeAll { $0 == "--json" }
guard let name = arguments.first, let suite = suites[name] else {
    let names = suites.keys.sorted().joined(separator: " | ")
    writeStderr("usage: kura-bench (\(names)) [--json] [options]\n")
    exit(2)
}
var report = Report(json: json)
do {
    try suite(&report, Array(arguments.dropFirst()))
} catch {
    writeStderr("kura-bench \(name): \(error)\n")
    exit(1)
}

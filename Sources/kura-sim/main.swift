// kura-sim: the deterministic Raft simulator and the linearizability checker's command line.
//   kura-sim --seed S | --seeds N [--seed-start S]     (SimulateCommand.swift)
//   kura-sim check-history FILE --model M              (CheckHistoryCommand.swift)
#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "check-history" {
    exit(CheckHistoryCommand.run(Array(arguments.dropFirst())))
} else {
    exit(SimulateCommand.run(arguments))
}

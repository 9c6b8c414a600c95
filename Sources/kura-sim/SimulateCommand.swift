// kura-sim --seed S [--steps T] [--bug B]         one run, with its trace (replays byte for byte)
// kura-sim --seeds N [--seed-start S] [--steps T]  many runs, one summary line each failure
// A failure prints its seed and the violated property and exits with status 1.

#if canImport(Glibc)
import Glibc
#endif
import Raft
import RaftSimulation

enum SimulateCommand {
    static let usage = """
        usage: kura-sim --seed S [--fault-time T] [--quiet-time T] [--bug \(RaftConfig.PlantedBug.allCases.map(\.rawValue).joined(separator: "|"))|local-reads]
               kura-sim --seeds N [--seed-start S] [--progress N] [--fault-time T] [--quiet-time T] [--bug …]
        """

    static func run(_ arguments: [String]) -> Int32 {
        var seed: UInt64?
        var count: UInt64?
        var start: UInt64 = 1
        var faultTime: Int?
        var quietTime: Int?
        var bug: RaftConfig.PlantedBug?
        var progress: UInt64 = 0
        var localReads = false
        var i = 0
        func value() -> String? {
            i += 1
            return i < arguments.count ? arguments[i] : nil
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--seed": seed = value().flatMap { UInt64($0) }; if seed == nil { return fail() }
            case "--seeds": count = value().flatMap { UInt64($0) }; if count == nil { return fail() }
            case "--seed-start": guard let s = value().flatMap({ UInt64($0) }) else { return fail() }; start = s
            case "--fault-time": faultTime = value().flatMap { Int($0) }; if faultTime == nil { return fail() }
            case "--quiet-time": quietTime = value().flatMap { Int($0) }; if quietTime == nil { return fail() }
            case "--bug":
                let name = value()
                if name == "local-reads" { localReads = true } else {
                    bug = name.flatMap { RaftConfig.PlantedBug(rawValue: $0) }
                    if bug == nil { return fail() }
                }
            case "--progress": guard let n = value().flatMap({ UInt64($0) }) else { return fail() }; progress = n
            case "-h", "--help": print(usage); return 0
            default: return fail()
            }
            i += 1
        }
        func options(_ seed: UInt64, trace: Bool) -> SimulationOptions {
            var o = SimulationOptions(seed: seed)
            if let faultTime { o.faultTime = faultTime }
            if let quietTime { o.quietTime = quietTime }
            o.plantedBug = bug
            o.unsafeLocalReads = localReads
            o.trace = trace
            return o
        }
        if let seed, count == nil {
            var simulation = Simulation(options(seed, trace: true))
            let report = simulation.run()
            for line in report.trace { print(line) }
            print(report.summary)
            if let v = report.violation { print("seed \(seed) violates \(v.property): \(v.detail)") }
            return report.violation == nil ? 0 : 1
        }
        guard let count, seed == nil else { return fail() }
        var failures = 0
        for s in start..<(start + count) {
            var simulation = Simulation(options(s, trace: false))
            let report = simulation.run()
            if let v = report.violation {
                failures += 1
                print("seed \(s) violates \(v.property): \(v.detail)")
                print("  replay: kura-sim --seed \(s)" + (bug.map { " --bug \($0.rawValue)" } ?? "") + (localReads ? " --bug local-reads" : "")
                    + (faultTime.map { " --fault-time \($0)" } ?? "") + (quietTime.map { " --quiet-time \($0)" } ?? ""))
            }
            if progress > 0 && (s - start + 1) % progress == 0 {
                print("progress: \(s - start + 1) seeds, \(failures) failed")
                fflush(nil)
            }
        }
        print("\(count) seeds from \(start): \(failures) failed")
        return failures == 0 ? 0 : 1
    }

    static func fail() -> Int32 {
        print(usage)
        return 2
    }
}

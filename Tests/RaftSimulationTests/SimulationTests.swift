// The deterministic simulator as a test: a fixed budget of seeds with the full fault mix must
// show no violation; planted bugs must be caught within the same budget; a seed must replay
// byte for byte. Runs are shortened for the debug build (2,000 + 1,500 time units per seed,
// about 200 election timeouts with faults); `kura-sim --seeds N` runs full-length seeds.

import Raft
import RaftSimulation
import Testing

@Suite struct SimulationTests {
    /// The CI budget: 2,000 seeds, in chunks so Swift Testing can run them in parallel.
    static let seedBudget: UInt64 = 2_000
    static let chunks: [UInt64] = Array(0..<8)
    static let faultTime = 2_000
    static let quietTime = 1_500

    static func options(_ seed: UInt64) -> SimulationOptions {
        var o = SimulationOptions(seed: seed)
        o.faultTime = faultTime
        o.quietTime = quietTime
        return o
    }

    @Test(arguments: chunks)
    func seedsShowNoViolation(chunk: UInt64) {
        let size = Self.seedBudget / UInt64(Self.chunks.count)
        for seed in (1 + chunk * size)...((chunk + 1) * size) {
            var simulation = Simulation(Self.options(seed))
            let report = simulation.run()
            #expect(report.violation == nil, "seed \(seed): \(report.violation!) — replay: kura-sim --seed \(seed) --fault-time \(Self.faultTime) --quiet-time \(Self.quietTime)")
            if report.violation != nil { return }
        }
    }

    @Test func aSeedReplaysByteForByte() {
        var o = Self.options(7)
        o.trace = true
        var first = Simulation(o)
        var second = Simulation(o)
        let a = first.run(), b = second.run()
        #expect(a.trace == b.trace)
        #expect(a.summary == b.summary)
        #expect(a.history == b.history)
        #expect(a.trace.count > 3)
        var other = Simulation(Self.options(8))
        #expect(other.run().summary != a.summary)
    }

    /// Returns the first seed in the budget whose run reports `property`.
    static func firstSeed(violating property: String, _ configure: (inout SimulationOptions) -> Void) -> UInt64? {
        for seed in 1...seedBudget {
            var o = options(seed)
            configure(&o)
            var simulation = Simulation(o)
            if let v = simulation.run().violation {
                if v.property == property { return seed }
            }
        }
        return nil
    }

    @Test func votingTwiceInOneTermIsCaught() {
        let seed = Self.firstSeed(violating: "election safety") { $0.plantedBug = .voteTwiceInOneTerm }
        #expect(seed != nil, "granting two votes per term went unnoticed in \(Self.seedBudget) seeds")
    }

    @Test func staleLocalReadsAreCaughtByTheLinearizabilityCheck() {
        let seed = Self.firstSeed(violating: "linearizability") { $0.unsafeLocalReads = true }
        #expect(seed != nil, "local reads went unnoticed in \(Self.seedBudget) seeds")
    }
}

import Linearizability
import Testing

/// Acceptance: a 10,000-operation history over 100 keys is checked in under 10 s (debug build).
@Suite struct PerformanceTests {
    @Test func tenThousandOperationsOverHundredKeys() throws {
        let events = randomHistory(KVModel(), operations: 10_000, partitions: 100, processes: 8, seed: 7)
        let history = try buildHistory(events)
        let clock = ContinuousClock()
        var result: CheckResult<KVModel> = .linearizable
        let elapsed = clock.measure { result = history.check(KVModel()) }
        #expect(result.isLinearizable)
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        print("10,000 operations over 100 keys, 8 processes: checked in \(elapsed)")
    }

    @Test func violationInALargeHistoryIsFoundAndNarrowed() throws {
        let events = randomHistory(KVModel(), operations: 10_000, partitions: 100, processes: 8, seed: 8)
        let mutated = try #require(plantViolation(events, model: KVModel(), seed: 8))
        let history = try buildHistory(mutated)
        let clock = ContinuousClock()
        var result: CheckResult<KVModel> = .linearizable
        let elapsed = clock.measure { result = history.check(KVModel()) }
        let window = try #require(result.window)
        #expect(window.operations.count < window.partitionOperationCount)
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        print("10,000 operations, one planted violation: found and narrowed in \(elapsed)")
    }
}

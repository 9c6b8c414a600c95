import Linearizability
import Testing

/// Histories generated from the reference execution pass; the same history with one read
/// answered impossibly fails, and its window contains that read.
@Suite struct PropertyTests {
    @Test(arguments: 0..<40)
    func kv(seed: UInt64) throws {
        try roundTrip(KVModel(), seed: seed)
    }

    @Test(arguments: 0..<20)
    func assetVersions(seed: UInt64) throws {
        try roundTrip(AssetVersionModel(), seed: seed)
    }

    @Test(arguments: 0..<20)
    func authority(seed: UInt64) throws {
        try roundTrip(AuthorityModel(), seed: seed)
    }

    private func roundTrip<M: ExecutableModel>(_ model: M, seed: UInt64) throws {
        let events = randomHistory(model, operations: 300, partitions: 3, processes: 6, seed: seed)
        let result = try buildHistory(events).check(model)
        #expect(result.isLinearizable, "seed \(seed): \(result)")

        let mutated = try #require(plantViolation(events, model: model, seed: seed))
        let broken = try buildHistory(mutated).check(model)
        let window = try #require(broken.window, "seed \(seed): planted violation not found")
        #expect(window.operations.contains { entry in
            entry.operation.output.map { model.describe($0) }?.contains("1000") ?? false
        }, "seed \(seed): the window lacks the impossible read")
    }
}

import GlobalDatabase
import GlobalDatabaseTesting
import Testing

@Suite struct MemoryGlobalDatabaseTests {
    @Test func conforms() async {
        #expect(await checkGlobalDatabase { MemoryGlobalDatabase() } == [])
    }

    @Test func racingAppliersMatchOneApply() async throws {
        let log = randomLog(count: 2000, seed: 11)
        #expect(try await checkRacingAppliers(MemoryGlobalDatabase(), reference: MemoryGlobalDatabase(), log: log) == [])
    }

    @Test func idsRoundTripThroughText() {
        var rng = SplitMix64(seed: 5)
        let id = ID(using: &rng)
        #expect(ID(id.description) == id)
        #expect(ID(bytes: id.bytes) == id)
        #expect(id.description.count == 36)
        #expect(ID("not-a-uuid") == nil)
    }

    @Test func backoffIsCappedFullJitter() {
        let policy = RetryPolicy(baseDelay: .milliseconds(1), maxDelay: .milliseconds(100), jitter: { 0.999 })
        #expect(policy.delay(afterAttempt: 1) < .milliseconds(1))
        #expect(policy.delay(afterAttempt: 4) > .milliseconds(7))
        #expect(policy.delay(afterAttempt: 30) <= .milliseconds(100))
        #expect(RetryPolicy(jitter: { 0 }).delay(afterAttempt: 5) == .zero)
    }
}

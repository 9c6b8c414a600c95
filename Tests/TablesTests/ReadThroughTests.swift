// Read-through: one loader per key however many callers miss at once; errors reach them all.
import Testing
import Tables

@Suite struct ReadThroughTests {
    struct LoadFailed: Error {}

    @Test func concurrentMissesRunOneLoader() async throws {
        let cache = ReadThrough(Table(Player.schema, clock: ManualClock()))
        let loads = Shared(0)
        let started = Shared(0)
        let results = try await withThrowingTaskGroup(of: Player?.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    started.withLock { $0 += 1 }  // no suspension between this and joining the flight
                    return try await cache.fetch(5) { key in
                        loads.withLock { $0 += 1 }
                        while started.withLock({ $0 }) < 20 { try await Task.sleep(for: .milliseconds(2)) }
                        try await Task.sleep(for: .milliseconds(30))
                        return Player(id: key, count: 42)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(loads.withLock { $0 } == 1)
        #expect(results.count == 20 && results.allSatisfy { $0?.count == 42 })
        #expect(cache.table.get(5)?.count == 42 && cache.loading == 0)
    }

    @Test func aFailedLoadReachesEveryWaiterAndIsRetriedLater() async throws {
        let cache = ReadThrough(Table(Player.schema, clock: ManualClock()))
        let loads = Shared(0)
        let started = Shared(0)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    started.withLock { $0 += 1 }
                    do {
                        _ = try await cache.fetch(1) { _ in
                            loads.withLock { $0 += 1 }
                            while started.withLock({ $0 }) < 5 { try await Task.sleep(for: .milliseconds(2)) }
                            try await Task.sleep(for: .milliseconds(30))
                            throw LoadFailed()
                        }
                        return false
                    } catch { return error is LoadFailed }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 5 && loads.withLock { $0 } == 1)
        let row = try await cache.fetch(1) { Player(id: $0) }
        #expect(row == Player(id: 1) && cache.table.contains(1))
    }
}

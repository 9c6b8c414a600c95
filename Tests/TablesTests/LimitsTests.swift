// TTL (checked on read, swept incrementally), row and byte limits, and CLOCK eviction that
// never drops a record write-behind has not acknowledged.
import Testing
import Tables

@Suite struct LimitsTests {
    @Test func expiredRecordsVanishOnReadAndAreSweptWithAChange() throws {
        let clock = ManualClock()
        let table = Table(Player.schema, options: TableOptions(defaultTTL: .seconds(10)), clock: clock)
        try table.insert(Player(id: 1))
        try table.insert(Player(id: 2), expiry: .never)
        try table.insert(Player(id: 3), expiry: .after(.seconds(30)))
        clock.advance(by: .seconds(11))
        #expect(table.get(1) == nil)
        #expect(try table.count() == 2)
        #expect(table.stats.count == 3)  // still held until swept
        // The expired record's key and unique values are free again.
        try table.insert(Player(id: 4, name: "p1", tag: 1))
        #expect(table.sweepExpired(limit: 10) == 0)  // already replaced while inserting
        clock.advance(by: .seconds(20))
        #expect(table.sweepExpired(limit: 10) == 2)  // 3 (30 s) and 4 (10 s default)
        #expect(try table.select(Query(order: .byKey)).map(\.id) == [2])
        guard case .changes(let changes) = table.changes(after: 0) else { Issue.record("resync"); return }
        #expect(changes.map(\.kind) == [.insert, .insert, .insert, .expire, .insert, .expire, .expire])
        #expect(table.invariantViolations() == [])
    }

    @Test func sweepIsIncremental() throws {
        let clock = ManualClock()
        let table = Table(Player.schema, clock: clock)
        for id in Int64(0)..<100 { try table.insert(Player(id: id), expiry: .after(.seconds(Int64(id % 7) + 1))) }
        clock.advance(by: .seconds(10))
        #expect(table.sweepExpired(limit: 30) == 30)
        #expect(table.stats.count == 70)
        #expect(table.sweepExpired(limit: 1000) == 70)
        #expect(table.invariantViolations() == [])
    }

    @Test func evictionSkipsDirtyRecordsAndRecentlyRead() throws {
        let clock = ManualClock()
        let options = TableOptions<Player>(rowLimit: 4, tracksFlush: true)
        let table = Table(Player.schema, options: options, clock: clock)
        var versions: [Int64: UInt64] = [:]
        for id in Int64(0)..<4 { versions[id] = try table.insert(Player(id: id)) }
        // All dirty: nothing may go, and the failed insert changes nothing.
        #expect(throws: TableError.capacityExceeded(rows: 4, bytes: table.stats.bytes)) { try table.insert(Player(id: 9)) }
        #expect(table.stats.count == 4)
        for id in Int64(0)..<3 { table.markFlushed(id, version: versions[id]!) }
        _ = table.get(0)  // recently used: CLOCK passes over it once
        try table.insert(Player(id: 10))
        #expect(table.get(1) == nil && table.get(0) != nil && table.get(3) != nil)
        // A record rewritten after its flush is dirty again.
        try table.update(Player(id: 2, score: 5))
        try table.insert(Player(id: 11))
        #expect(table.get(0) == nil && table.get(2) != nil && table.get(3) != nil)
        #expect(table.stats.evictions == 2)
        #expect(table.invariantViolations() == [])
    }

    @Test func byteLimitEvictsEnoughRecords() throws {
        let options = TableOptions<Player>(byteLimit: 100, weight: { 10 + $0.name.utf8.count })
        let table = Table(Player.schema, options: options, clock: ManualClock())
        for id in Int64(0)..<8 { try table.insert(Player(id: id, name: "n\(id)")) }  // 12 bytes each
        #expect(table.stats.bytes == 96)
        try table.insert(Player(id: 8, name: String(repeating: "x", count: 40)))  // 50 bytes: 4 must go
        #expect(table.stats.count == 5 && table.stats.bytes <= 100)
        #expect(throws: TableError.self) { try table.insert(Player(id: 9, name: String(repeating: "y", count: 200))) }
        #expect(table.stats.count == 5)
        #expect(table.invariantViolations() == [])
    }
}

// The change feed: ordered batches, resync instead of a silent gap, snapshots at a position.
import Testing
import Tables

@Suite struct FeedTests {
    @Test func batchesAreOrderedAndALaggingReaderIsToldToResync() throws {
        let table = Table(Player.schema, options: TableOptions(feedCapacity: 8), clock: ManualClock())
        for id in Int64(0)..<5 { try table.insert(Player(id: id)) }
        guard case .changes(let first) = table.changes(after: 0, limit: 3) else { Issue.record("resync"); return }
        #expect(first.map(\.position) == [1, 2, 3])
        guard case .changes(let rest) = table.changes(after: 3, limit: 10) else { Issue.record("resync"); return }
        #expect(rest.map(\.position) == [4, 5])
        guard case .changes(let none) = table.changes(after: 5) else { Issue.record("resync"); return }
        #expect(none.isEmpty)
        for id in Int64(0)..<5 { try table.delete(id) }  // positions 6…10; the ring keeps 3…10
        guard case .resync(let oldest) = table.changes(after: 1) else { Issue.record("no resync"); return }
        #expect(oldest == 3)
        guard case .changes(let tail) = table.changes(after: 2) else { Issue.record("resync"); return }
        #expect(tail.map(\.position) == Array(3...10) && tail.last?.kind == .delete)
    }

    @Test func snapshotIsConsistentWhileWritesContinue() throws {
        let table = Table(Player.schema, clock: ManualClock())
        for id in Int64(0)..<3000 { try table.insert(Player(id: id, score: 1)) }
        let snapshot = table.snapshot()
        try table.update(where: Query(.between(Player.scoreColumn, 1...1))) { $0.score = 2 }
        try table.delete(7)
        #expect(snapshot.position == 3000)
        #expect(snapshot.rows.count == 3000 && snapshot.rows.allSatisfy { $0.score == 1 })
        let restored = try Table.restoring(snapshot, schema: Player.schema, clock: ManualClock())
        #expect(restored.position == 3000 && restored.get(7) != nil)
        // Replaying the live table's feed after the snapshot position brings the copy up to date.
        guard case .changes(let changes) = table.changes(after: snapshot.position, limit: 10_000) else { return }
        var rows = Dictionary(uniqueKeysWithValues: snapshot.rows.map { ($0.id, $0) })
        for change in changes { rows[change.key] = change.row }
        #expect(rows.count == 2999 && rows.values.allSatisfy { $0.score == 2 })
    }

    /// Snapshots share the table's chunks; a write copies the chunk it touches first, whether it
    /// replaces, removes or appends a record, and a snapshot outlives the table it came from.
    @Test func snapshotsKeepTheirChunksAcrossEveryKindOfWrite() throws {
        let name = { (id: Int64) in "player-with-a-long-name-\(id)" }  // heap strings: copies must retain
        var first: TableSnapshot<Player>
        var second: TableSnapshot<Player>
        do {
            let table = Table(Player.schema, options: TableOptions(tracksFlush: true), clock: ManualClock())
            for id in Int64(0)..<1500 { try table.insert(Player(id: id, score: id, name: name(id))) }
            first = table.snapshot()
            for id in Int64(1500)..<1510 { try table.insert(Player(id: id, score: id, name: name(id))) }  // appends to a shared chunk
            try table.modify(5) { $0.name = "renamed" }
            try table.delete(1200)
            table.markFlushed(6, version: 7)
            second = table.snapshot()
            try table.modify(6) { $0.score = -1 }
        }
        #expect(first.position == 1500 && first.rows.count == 1500)
        #expect(first.rows.allSatisfy { $0.name == name($0.id) && $0.score == $0.id })
        let rows = Dictionary(uniqueKeysWithValues: second.rows.map { ($0.id, $0) })
        #expect(second.position == 1512 && rows.count == 1509 && rows[1200] == nil)
        #expect(rows[5]?.name == "renamed" && rows[6]?.score == 6 && rows[1509]?.name == name(1509))
        let restored = try Table.restoring(first, schema: Player.schema, clock: ManualClock())
        #expect(try restored.get(1200)?.name == name(1200) && restored.count() == 1500)
    }

    @Test func importRejectsForeignOrCorruptBytes() throws {
        let table = Table(Player.schema, clock: ManualClock())
        try table.insert(Player(id: 1))
        let bytes = table.export()
        let other = TableSchema<Player>(name: "other")
        #expect(throws: TableError.schemaMismatch(expected: "other v1", found: "players v1")) {
            _ = try Table.importing(bytes, schema: other, clock: ManualClock())
        }
        #expect(throws: TableError.self) { _ = try Table.importing(Array(bytes.dropLast()), schema: Player.schema, clock: ManualClock()) }
        let copy = try Table.importing(bytes, schema: Player.schema, clock: ManualClock())
        #expect(copy.get(1) == Player(id: 1) && copy.getVersioned(1)?.version == 1)
    }
}

@Suite struct FeedWaitingTests {
    @Test func aSubscriberReceivesEveryChangeInOrderInBatches() async throws {
        let table = Table(Player.schema, clock: ManualClock())
        let reader = Task {
            var positions: [UInt64] = []
            var batches = 0
            for await read in table.changeBatches(after: 0, limit: 50) {
                guard case .changes(let batch) = read else { break }
                batches += 1
                positions += batch.map(\.position)
                if positions.count >= 300 { break }
            }
            return (positions, batches)
        }
        for id in Int64(0)..<300 {
            try table.insert(Player(id: id))
            if id % 40 == 0 { await Task.yield() }
        }
        let (positions, batches) = await reader.value
        #expect(positions == Array(1...300))
        #expect(batches >= 6 && batches <= 300)
    }

    @Test func aCancelledWaiterReturns() async {
        let table = Table(Player.schema, clock: ManualClock())
        let waiter = Task { await table.waitForChanges(after: 0) }
        waiter.cancel()
        await waiter.value
        #expect(table.position == 0)
    }
}

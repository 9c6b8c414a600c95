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

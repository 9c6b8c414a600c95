// Held-back index moves (TableState+Pending): writes that change `owner` (hash) or `score`
// (ordered) leave the move pending until a read of those indexes or a full batch. Each test
// leaves moves pending (fewer than a batch since the last index read) and then does what could
// see the indexes out of step with the records: remove, expire or evict the moved records,
// promote a heavy value, roll back, check a unique index, or run past a batch.
import Testing
import Tables

@Suite struct PendingMoveTests {
    func ids(_ t: Table<Player>, _ query: Query<Player>) throws -> Set<Int64> { Set(try t.select(query).map(\.id)) }

    func byOwner(_ t: Table<Player>, _ owner: Int64) throws -> Set<Int64> { try ids(t, Query(.equal(Player.ownerColumn, .int(owner)))) }

    func byScore(_ t: Table<Player>, _ low: Int64, _ high: Int64) throws -> [Int64] {
        try t.select(Query(.between(Player.scoreColumn, low...high), order: .by(Player.scoreColumn))).map(\.id)
    }

    @Test func removedExpiredAndEvictedRecordsLeaveNoEntries() throws {
        let clock = ManualClock()
        let t = Table(Player.schema, options: TableOptions(rowLimit: 100), clock: clock)
        for id in Int64(0)..<100 { try t.insert(Player(id: id, owner: id % 10, score: id), expiry: id < 5 ? .after(.seconds(1)) : .never) }
        #expect(try byOwner(t, 3).count == 10)  // settled
        for id in Int64(0)..<20 { try t.modify(id) { $0.owner = 42; $0.score = 1000 + id } }  // 20 moves each, pending
        try t.delete(10)
        clock.advance(by: .seconds(2))
        #expect(t.sweepExpired(limit: 100) == 5)  // 0–4, each with moves pending
        for id in Int64(500)..<507 { try t.insert(Player(id: id, owner: 42, score: 1000 + id)) }  // the last evicts
        let live = Set(try t.select(.all).map(\.id))
        #expect(live.count == 100 && t.stats.evictions == 1)
        #expect(try byOwner(t, 42) == live.filter { $0 < 20 || $0 >= 500 })
        #expect(try byScore(t, 1000, 2000) == live.filter { $0 < 20 || $0 >= 500 }.sorted())
        #expect(t.invariantViolations() == [])
    }

    @Test func aValueTurnsHeavyWhileMovesArePending() throws {
        let t = Table(Player.schema, clock: ManualClock())
        for id in Int64(0)..<200 { try t.insert(Player(id: id, owner: 1000 + id, score: id)) }
        #expect(try byOwner(t, 1000).count == 1)
        // 40 records move to owner 7 and stay pending; then 70 inserts (applied at once) make 7 heavy.
        for id in Int64(0)..<40 { try t.modify(id) { $0.owner = 7 } }
        for id in Int64(200)..<270 { try t.insert(Player(id: id, owner: 7, score: id)) }
        // And some of each group move away again, still pending.
        for id in Int64(0)..<10 { try t.modify(id) { $0.owner = 8 } }
        for id in Int64(200)..<205 { try t.modify(id) { $0.owner = 8 } }
        let seven = Set(Array(10..<40) + Array(205..<270)).map(Int64.init)
        #expect(try byOwner(t, 7) == Set(seven))
        #expect(try byOwner(t, 8) == Set((Array(0..<10) + Array(200..<205)).map(Int64.init)))
        #expect(t.invariantViolations() == [])
    }

    @Test func aRollbackUndoesHeldBackMoves() throws {
        let t = Table(Player.schema, clock: ManualClock())
        for id in Int64(0)..<50 { try t.insert(Player(id: id, owner: id % 5, score: id * 10)) }
        let before = try byScore(t, 0, 1000)
        let r = Result { () throws(TableError) in
            try Transaction.run([t]) { (tx) throws(TableError) in
                for id in Int64(0)..<30 { try tx.on(t).modify(id) { $0.score = 999 - id; $0.owner = 9 } }
                try tx.on(t).insert(Player(id: 3))  // duplicate key: everything rolls back
            }
        }
        #expect(throws: TableError.duplicateKey("players[3]")) { try r.get() }
        #expect(try byScore(t, 0, 1000) == before)
        #expect(try byOwner(t, 9).isEmpty)
        #expect(try byOwner(t, 2) == Set(stride(from: Int64(2), to: 50, by: 5)))
        #expect(t.invariantViolations() == [])
    }

    @Test func uniqueIndexesAreCheckedWhileOthersWait() throws {
        let t = Table(Player.schema, clock: ManualClock())
        for id in Int64(0)..<10 { try t.insert(Player(id: id, owner: 1, score: id)) }
        try t.modify(0) { $0.score = 100; $0.owner = 2 }  // pending
        #expect(throws: TableError.uniqueViolation(index: "tag", value: .int(5))) {
            try t.modify(1) { $0.score = 101; $0.tag = 5 }
        }
        #expect(try byScore(t, 100, 200) == [0])
        #expect(try byOwner(t, 2) == [0])
        #expect(t.get(1)?.score == 1)
    }

    @Test func manyBatchesMatchAPlainScan() throws {
        var random = SeededGenerator(seed: 11)
        let t = Table(Player.schema, clock: ManualClock())
        var rows: [Int64: Player] = [:]
        for id in Int64(0)..<500 {
            rows[id] = Player(id: id, owner: Int64(random.below(20)), score: Int64(random.below(300)))
            try t.insert(rows[id]!)
        }
        for round in 0..<30 {
            for _ in 0..<(round * 17 % 150) {  // 0 to 149 writes between reads: within and past a batch
                let id = Int64(random.below(500))
                rows[id]!.owner = Int64(random.below(20))
                rows[id]!.score = Int64(random.below(300))
                try t.upsert(rows[id]!)
            }
            let owner = Int64(random.below(20))
            #expect(try byOwner(t, owner) == Set(rows.values.filter { $0.owner == owner }.map(\.id)))
            let low = Int64(random.below(300))
            let expected = rows.values.filter { $0.score >= low && $0.score <= low + 40 }.sorted { ($0.score, $0.id) < ($1.score, $1.id) }
            #expect(try byScore(t, low, low + 40) == expected.map(\.id))
        }
        #expect(t.invariantViolations() == [])
    }

    /// Whole bands of scores move at once, so a batch splits, merges and drops leaves (and
    /// top-level samples) between the stage that looked a move's leaf up and the move itself.
    @Test func bandsMoveThroughSplitsAndMerges() throws {
        var random = SeededGenerator(seed: 5)
        let t = Table(Player.schema, clock: ManualClock())
        var scores: [Int64] = []
        for id in Int64(0)..<2000 {
            scores.append(Int64(random.below(2000)))
            try t.insert(Player(id: id, score: scores[Int(id)]))
        }
        for round in 0..<8 {
            let low = Int64(random.below(1500))
            let target = round % 2 == 0 ? Int64(1_000_000) : Int64(-5)  // all to one value, or below all
            for id in scores.indices where scores[id] >= low && scores[id] < low + 400 {
                scores[id] = target + Int64(id % 3)
                try t.modify(Int64(id)) { $0.score = scores[id] }
            }
            for id in scores.indices where random.below(4) == 0 {  // and some scatter back
                scores[id] = Int64(random.below(2000))
                try t.modify(Int64(id)) { $0.score = scores[id] }
            }
            let expected = scores.indices.filter { scores[$0] >= low - 100 && scores[$0] <= low + 500 }
                .sorted { (scores[$0], $0) < (scores[$1], $1) }.map(Int64.init)
            #expect(try byScore(t, low - 100, low + 500) == expected)
        }
        #expect(t.invariantViolations() == [])
    }
}

// Review of held-back index moves (TableState+Pending): heavy-value promotion while moves are
// pending. A hash index keeps only a 32-bit hash per word, so two values whose hashes collide
// share one slot list; `promoteHeavy` picks the list's slots whose *records* hold the value. A
// record whose move from a colliding value is still pending looks like a holder while the index
// still has it under the other value: promoting it made the pending move's remove trap.
// Each test checks against a plain dictionary of rows.
import Testing
@testable import Tables

@Suite struct PendingMoveReviewTests {
    /// Two distinct owners whose hash words collide in this process (the seed is per process).
    static let colliding: (Int64, Int64) = {
        let index = HashIndex()
        var seen: [UInt64: Int64] = [:]
        for v in Int64(1_000_000)..<Int64(3_000_000) {
            if let u = seen.updateValue(v, forKey: index.hash(int: v)) { return (u, v) }
        }
        preconditionFailure("no hash collision among 2M values")
    }()

    func owners(_ t: Table<Player>, _ owner: Int64) throws -> Set<Int64> {
        Set(try t.select(Query(.equal(Player.ownerColumn, .int(owner)))).map(\.id))
    }

    func expectAgreement(_ t: Table<Player>, _ rows: [Int64: Player], _ values: [Int64]) throws {
        for owner in values {
            #expect(try owners(t, owner) == Set(rows.values.filter { $0.owner == owner }.map(\.id)))
        }
        #expect(t.invariantViolations() == [])
    }

    /// u and v share a list of 63 (one u, 62 v); the u record moves to v (pending); an insert of v
    /// fills the list and promotes v at once, through `place`.
    @Test func placePromotesAValueWhileAMoveFromACollidingValueWaits() throws {
        let (u, v) = Self.colliding
        #expect(HashIndex().hash(int: u) == HashIndex().hash(int: v) && u != v)
        let t = Table(Player.schema, clock: ManualClock())
        var rows: [Int64: Player] = [1000: Player(id: 1000, owner: u)]
        for id in Int64(0)..<62 { rows[id] = Player(id: id, owner: v) }
        for row in rows.values { try t.insert(row) }
        try expectAgreement(t, rows, [u, v])
        rows[1000]!.owner = v
        try t.modify(1000) { $0.owner = v }  // held back
        rows[62] = Player(id: 62, owner: v)
        try t.insert(rows[62]!)  // the list reaches 64: v is promoted
        try expectAgreement(t, rows, [u, v])
    }

    /// The same inside one batch: an earlier move fills the list, a later one moves u to v.
    @Test func aBatchPromotesAValueBeforeALaterMoveFromACollidingValue() throws {
        let (u, v) = Self.colliding
        let t = Table(Player.schema, clock: ManualClock())
        var rows: [Int64: Player] = [1000: Player(id: 1000, owner: u), 500: Player(id: 500, owner: 7)]
        for id in Int64(0)..<62 { rows[id] = Player(id: id, owner: v) }
        for row in rows.values { try t.insert(row) }
        try expectAgreement(t, rows, [u, v, 7])
        for id: Int64 in [500, 1000] {
            rows[id]!.owner = v
            try t.modify(id) { $0.owner = v }
        }
        try expectAgreement(t, rows, [u, v, 7])
    }

    /// Two deferred hash indexes: the write whose first index's move fills the backlog also holds
    /// back its second index's move before any move is applied.
    @Test func aBatchAppliedInsideAWriteDoesNotPromoteItsUnrecordedMove() throws {
        let (u, v) = Self.colliding
        let schema = TableSchema<Player>(name: "pairs", indexes: [
            IndexSpec(Column<Player>("score", \.score), .hash),
            IndexSpec(Player.ownerColumn, .hash),
        ])
        let t = Table(schema, clock: ManualClock())
        var rows: [Int64: Player] = [1000: Player(id: 1000, owner: u), 500: Player(id: 500, owner: 7)]
        for id in Int64(0)..<62 { rows[id] = Player(id: id, owner: v) }
        for row in rows.values { try t.insert(row) }
        try expectAgreement(t, rows, [u, v, 7])
        rows[500]!.owner = v
        try t.modify(500) { $0.owner = v }  // move 1 (owner)
        for id in Int64(0)..<(Int64(TableState<Player>.pendingBacklog) - 2) {  // moves 2…15 (score)
            rows[id]!.score += 1
            try t.modify(id) { $0.score += 1 }
        }
        rows[1000]!.score = 1
        rows[1000]!.owner = v
        try t.modify(1000) { $0.score = 1; $0.owner = v }  // move 16 (score) fills the backlog, then owner
        try expectAgreement(t, rows, [u, v, 7])
        let scores = try t.select(Query(.equal(Column<Player>("score", \.score), .int(1)))).map(\.id)
        #expect(Set(scores) == Set(rows.values.filter { $0.score == 1 }.map(\.id)))
    }

    /// Few owners, so values cross the heavy threshold up and down inside batches and through
    /// synchronous inserts, with deletes in between; checked against a dictionary.
    @Test func heavyValuesGrowAndShrinkAcrossBatches() throws {
        var random = SeededGenerator(seed: 77)
        let t = Table(Player.schema, clock: ManualClock())
        var rows: [Int64: Player] = [:]
        var nextID: Int64 = 0
        for round in 0..<40 {
            // Skewed: in even rounds most writes go to owner 0, in odd rounds away from it.
            for _ in 0..<(37 + round * 11 % 90) {
                let pick = random.below(10)
                if pick < 2 || rows.isEmpty {
                    let row = Player(id: nextID, owner: Int64(random.below(4)), score: Int64(random.below(100)))
                    nextID += 1
                    rows[row.id] = row
                    try t.insert(row)
                } else if pick == 2 {
                    let id = rows.keys.sorted()[random.below(rows.count)]
                    rows[id] = nil
                    try t.delete(id)
                } else {
                    let id = rows.keys.sorted()[random.below(rows.count)]
                    let owner = round % 2 == 0 ? (random.below(4) == 0 ? Int64(random.below(4)) : 0) : Int64(1 + random.below(3))
                    rows[id]!.owner = owner
                    rows[id]!.score = Int64(random.below(100))
                    try t.upsert(rows[id]!)
                }
            }
            if round % 3 == 0 {
                let owner = Int64(random.below(4))
                #expect(try owners(t, owner) == Set(rows.values.filter { $0.owner == owner }.map(\.id)))
            }
        }
        try expectAgreement(t, rows, [0, 1, 2, 3])
        let byScore = try t.select(Query(.between(Player.scoreColumn, 0...99), order: .by(Player.scoreColumn))).map(\.id)
        #expect(byScore == rows.values.sorted { ($0.score, $0.id) < ($1.score, $1.id) }.map(\.id))
    }
}

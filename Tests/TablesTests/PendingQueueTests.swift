// The queue of held-back moves between reads: each write applies a few, their stages run ahead
// across writes while synchronous inserts split and merge the leaves those stages looked at, and
// the queue stays short however long no read comes.
import Testing
@testable import Tables

@Suite struct PendingQueueTests {
    static let schema = TableSchema<Player>(name: "queue", indexes: [
        IndexSpec(Player.ownerColumn, .hash), IndexSpec(Player.scoreColumn, .ordered),
    ])

    func waiting(_ t: Table<Player>) -> (queued: Int, unapplied: Int) {
        t.state.withLock { ($0.pendingMoves.count, $0.pendingMoves.count - $0.pendingApplied) }
    }

    @Test func theQueueStaysShortWithoutReads() throws {
        var random = SeededGenerator(seed: 41)
        let t = Table(Self.schema, clock: ManualClock())
        for id in Int64(0)..<2000 { try t.insert(Player(id: id, owner: id % 50, score: id)) }
        var longest = 0
        for _ in 0..<20_000 {
            let id = Int64(random.below(2000))
            try t.modify(id) { $0.owner = Int64(random.below(50)); $0.score = Int64(random.below(5000)) }
            longest = max(longest, waiting(t).queued)
        }
        // Each write adds two moves and applies four once sixteen wait; applied ones are dropped
        // once there are `pendingCapacity` of them.
        let bound = TableState<Player>.pendingCapacity + TableState<Player>.pendingBacklog + 2
        #expect(longest <= bound)
        #expect(waiting(t).unapplied >= TableState<Player>.pendingBacklog - TableState<Player>.pendingStep)
        #expect(t.invariantViolations() == [])
        #expect(waiting(t).unapplied == 0)
    }

    /// Five deferred indexes, all changed by every write: more moves held back per write than
    /// `pendingStep`, still a short queue.
    @Test func theQueueStaysShortWhenAWriteMovesManyIndexes() throws {
        let schema = TableSchema<Player>(name: "wide", indexes: [
            IndexSpec(Player.ownerColumn, .hash), IndexSpec(Column<Player>("owner2", \.owner), .ordered),
            IndexSpec(Player.scoreColumn, .ordered), IndexSpec(Column<Player>("tag", \.tag), .hash),
            IndexSpec(Column<Player>("count", \.count), .hash),
        ])
        let t = Table(schema, clock: ManualClock())
        for id in Int64(0)..<100 { try t.insert(Player(id: id)) }
        var longest = 0
        for n in Int64(1)...2000 {  // five held-back moves a write, no reads
            try t.modify(n % 100) { $0.owner = n; $0.score = n; $0.tag = n; $0.count = n }
            longest = max(longest, waiting(t).unapplied)
        }
        #expect(longest < TableState<Player>.pendingBacklog)
        #expect(t.invariantViolations() == [])
        #expect(try t.select(Query(.equal(Player.ownerColumn, .int(2000)))).map(\.id) == [0])
        #expect(try t.select(Query(.equal(Column<Player>("tag", \.tag), .int(1999)))).map(\.id) == [99])
    }

    @Test func stagesRunAheadWhileInsertsReshapeLeaves() throws {
        var random = SeededGenerator(seed: 43)
        let t = Table(Self.schema, clock: ManualClock())
        var rows: [Int64: Player] = [:]
        var next: Int64 = 0
        for round in 0..<300 {
            // Inserts crowd one band of scores (splits), deletes thin another (merges, after a
            // settle), and moves jump between them, with no read in between.
            for _ in 0..<(round % 7 + 1) {
                let row = Player(id: next, owner: next % 13, score: 1000 + Int64(random.below(64)))
                next += 1
                rows[row.id] = row
                try t.insert(row)
            }
            for _ in 0..<8 {
                guard !rows.isEmpty else { break }
                let id = rows.keys.sorted()[random.below(rows.count)]  // not Dictionary order: seeded per process
                let score = random.below(2) == 0 ? 1000 + Int64(random.below(64)) : Int64(random.below(3000))
                rows[id]!.score = score
                rows[id]!.owner = Int64(random.below(13))
                try t.modify(id) { $0.score = score; $0.owner = rows[id]!.owner }
            }
            if round % 50 == 49 {
                for id in rows.keys.filter({ rows[$0]!.score < 1000 }).sorted().prefix(40) {
                    rows[id] = nil
                    try t.delete(id)
                }
            }
        }
        #expect(t.invariantViolations() == [])
        let byScore = try t.select(Query(.range(Player.scoreColumn, lower: nil, upper: nil))).map(\.id)
        #expect(byScore == rows.values.sorted { ($0.score, $0.id) < ($1.score, $1.id) }.map(\.id))
        for owner in Int64(0)..<13 {
            let found = try t.select(Query(.equal(Player.ownerColumn, .int(owner)))).map(\.id).sorted()
            #expect(found == rows.values.filter { $0.owner == owner }.map(\.id).sorted())
        }
    }
}

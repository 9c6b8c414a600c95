// A write that changes indexed values moves its entries in steps: every index's lines are
// requested first (an ordered index keeps the leaf ranks it found), then entries are removed and
// added, the add taking the rank found before the remove as a guess. Removing can drop or merge a
// leaf or change a leaf's first word, which makes that guess stale: results must not depend on it.
import Testing
import Tables

@Suite struct IndexMoveTests {
    /// Records move out of one score region into another, so leaves empty and merge on one side
    /// and split on the other, often in the write whose add follows the remove; owners move too.
    @Test func movesThatReshapeLeavesKeepBothIndexesExact() throws {
        var random = SeededGenerator(seed: 41)
        let table = Table(Player.schema, clock: ManualClock())
        var model: [Int64: Player] = [:]
        func check(_ stage: String) throws {
            #expect(table.invariantViolations() == [], "\(stage)")
            let ordered = model.values.sorted { ($0.score, $0.id) < ($1.score, $1.id) }.map(\.id)
            #expect(try table.select(Query(.range(Player.scoreColumn, lower: nil, upper: nil))).map(\.id) == ordered, "\(stage)")
            for owner in Int64(0)..<20 {
                let got = try table.select(Query(.equal(Player.ownerColumn, .int(owner)))).map(\.id).sorted()
                #expect(got == model.values.filter { $0.owner == owner }.map(\.id).sorted(), "\(stage) owner \(owner)")
            }
        }
        for id in Int64(0)..<2000 {
            let r = Player(id: id, owner: id % 20, score: id)  // ids 0..<1000 sit in the low region
            try table.insert(r)
            model[id] = r
        }
        // First the low region empties from its lowest record up, so its leaves drop one after
        // another, each in a write whose add lies in a later leaf; then records move both ways.
        for step in 0..<2400 {
            var r = model[step < 1000 ? Int64(step) : Int64.random(in: 0..<2000, using: &random)]!
            r.score = step < 1000 || step % 2 == 0
                ? 1000 + Int64.random(in: 0..<300, using: &random) * 3  // ties with existing scores are common
                : Int64.random(in: 0..<1000, using: &random)
            r.owner = Int64.random(in: 0..<20, using: &random)
            if step % 9 == 0 {
                // Rolled back first: the rewrite back to the old record moves entries too.
                do {
                    try table.transaction { (tx) throws(TableError) -> Void in
                        try tx.upsert(r)
                        throw TableError.missingKey("roll back")
                    }
                    Issue.record("a transaction that threw committed")
                } catch {}
            }
            try table.upsert(r)
            model[r.id] = r
            if step % 400 == 399 { try check("step \(step)") }
        }
        try check("end")
    }
}

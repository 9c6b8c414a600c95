// The hash index keeps only a 32-bit hash per entry and moves values held by many records out of
// its probe table: lookups, unique checks and rollbacks must stay exact through both regimes.
import Testing
import Tables

@Suite struct HashIndexTests {
    /// Three owners over 2000 records: every owner crosses the heavy threshold, then loses and
    /// regains records through updates, deletes and a rolled-back transaction.
    @Test func lowCardinalityValuesMatchTheModel() throws {
        var random = SeededGenerator(seed: 17)
        let table = Table(Player.schema, clock: ManualClock())
        var model: [Int64: Player] = [:]
        func check() throws {
            #expect(table.invariantViolations() == [])
            for owner in Int64(0)..<4 {
                let got = try table.select(Query(.equal(Player.ownerColumn, .int(owner)))).map(\.id).sorted()
                #expect(got == model.values.filter { $0.owner == owner }.map(\.id).sorted())
            }
        }
        for id in Int64(0)..<2000 {
            let r = Player(id: id, owner: Int64.random(in: 0..<3, using: &random))
            try table.insert(r)
            model[id] = r
        }
        try check()
        for step in 0..<3000 {
            let id = Int64.random(in: 0..<2000, using: &random)
            if step % 4 == 0, model[id] != nil {
                try table.delete(id)
                model[id] = nil
            } else {
                let r = Player(id: id, owner: Int64.random(in: 0..<4, using: &random))
                try table.upsert(r)
                model[id] = r
            }
        }
        try check()
        // A transaction that moves many records between owners, then fails: nothing may change.
        let present = Set(model.keys)
        #expect(throws: TableError.self) {
            try table.transaction { (tx) throws(TableError) in
                for id in Int64(0)..<300 where present.contains(id) {
                    try tx.upsert(Player(id: id, owner: 3))
                }
                try tx.insert(Player(id: present.max()!))  // duplicate key: the whole transaction rolls back
            }
        }
        try check()
    }

    /// Unique string values: a hash collision or a heavy value must never hide a holder.
    @Test func uniqueStringIndexRejectsEveryTakenName() throws {
        let table = Table(Player.schema, clock: ManualClock())
        for id in Int64(0)..<3000 { try table.insert(Player(id: id, name: "name-\(id)")) }
        for id in stride(from: Int64(0), to: 3000, by: 7) {
            #expect(throws: TableError.self) { try table.insert(Player(id: 10_000 + id, name: "name-\(id)")) }
            let found = try table.select(Query(.equal(Player.nameColumn, .string("name-\(id)"))))
            #expect(found.map(\.id) == [id])
        }
        #expect(try table.count() == 3000)
        #expect(table.invariantViolations() == [])
    }
}

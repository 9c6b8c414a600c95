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

    /// Values held by 1 to 90 records: their slot lists grow through every block size (and past
    /// the heavy threshold), then shrink back to one slot in the word and to nothing.
    @Test func slotListsGrowAndShrinkThroughEverySize() throws {
        var random = SeededGenerator(seed: 31)
        let table = Table(Player.schema, clock: ManualClock())
        var model: [Int64: Player] = [:]
        func check(_ stage: String) throws {
            #expect(table.invariantViolations() == [], "\(stage)")
            for owner in Int64(0)..<13 {
                let got = try table.select(Query(.equal(Player.ownerColumn, .int(owner)))).map(\.id).sorted()
                #expect(got == model.values.filter { $0.owner == owner }.map(\.id).sorted(), "\(stage): owner \(owner)")
            }
        }
        // Owner k holds 7k records (0 to 84), interleaved so that lists grow one slot at a time.
        var id: Int64 = 0
        for round in 0..<84 {
            for owner in Int64(1)..<13 where round < 7 * owner {
                let r = Player(id: id, owner: owner)
                try table.insert(r)
                model[id] = r
                id += 1
            }
        }
        try check("grown")
        // Delete most records in random order, moving a few to other owners on the way.
        var ids = Array(model.keys)
        ids.shuffle(using: &random)
        for (n, victim) in ids.enumerated() where n % 10 != 0 {
            if n % 7 == 0 {
                let r = Player(id: victim, owner: Int64.random(in: 0..<13, using: &random))
                try table.upsert(r)
                model[victim] = r
            } else {
                _ = try table.delete(victim)
                model[victim] = nil
            }
            if n % 97 == 0 { try check("step \(n)") }
        }
        try check("shrunk")
        for victim in Array(model.keys) {
            _ = try table.delete(victim)
            model[victim] = nil
        }
        try check("empty")
    }
}


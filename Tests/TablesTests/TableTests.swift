// Keyed operations, typed errors (each leaves the table as it was), planner choices and explain.
import Testing
import Tables

@Suite struct TableTests {
    let clock = ManualClock()

    func filled(_ count: Int64 = 50) -> Table<Player> {
        let table = Table(Player.schema, clock: clock)
        for id in 0..<count { try! table.insert(Player(id: id, owner: id % 5, score: id % 10)) }
        return table
    }

    /// Runs `body`, which must fail with `expected`, and checks nothing changed.
    func expectUnchanged(_ table: Table<Player>, _ expected: TableError, _ body: () throws(TableError) -> Void) {
        let before = try! table.select(Query(order: .byKey))
        let position = table.position
        #expect(throws: expected) { try body() }
        #expect(try! table.select(Query(order: .byKey)) == before)
        #expect(table.position == position)
        #expect(table.invariantViolations() == [])
    }

    /// Key-path columns: a stored field is read at its offset, a computed one through the key
    /// path; both index and query exactly like the closure column of the same values.
    @Test func keyPathColumnsIndexLikeClosureColumns() throws {
        struct Ship: TableRecord {
            var id: Int64
            var pad: Int32  // puts `crew` at a non-zero offset
            var crew: Int64
            var key: Int64 { id }
            var doubled: Int64 { crew * 2 }
        }
        let stored = Column<Ship>("crew", \.crew)
        let computed = Column<Ship>("doubled", \.doubled)
        let closure = Column<Ship>("crew-closure") { .int($0.crew) }
        #expect(stored.offset == 16)  // after id (8 bytes) and pad (4), aligned to 8
        #expect(computed.offset == nil && closure.offset == nil)
        let table = Table(TableSchema<Ship>(name: "ships", indexes: [
            IndexSpec(stored, .hash), IndexSpec(computed, .ordered), IndexSpec(closure, .ordered),
        ]), clock: ManualClock())
        for id in Int64(0)..<300 { try table.insert(Ship(id: id, pad: -1, crew: id % 7)) }
        try table.upsert(Ship(id: 3, pad: 0, crew: 6))  // moves 3 from crew 3 to crew 6
        for crew in Int64(0)..<7 {
            let expected = Set((0..<300).filter { $0 == 3 ? crew == 6 : $0 % 7 == crew })
            #expect(Set(try table.select(Query(.equal(stored, .int(crew)))).map(\.id)) == expected)
            #expect(Set(try table.select(Query(.equal(computed, .int(crew * 2)))).map(\.id)) == expected)
            #expect(Set(try table.select(Query(.equal(closure, .int(crew)))).map(\.id)) == expected)
        }
    }

    @Test func badInputLeavesTheTableAsItWas() {
        let table = filled()
        expectUnchanged(table, .duplicateKey("players[3]")) { () throws(TableError) in try table.insert(Player(id: 3, name: "new", tag: 999)) }
        expectUnchanged(table, .uniqueViolation(index: "name", value: "p4")) { () throws(TableError) in
            try table.insert(Player(id: 100, name: "p4", tag: 100))
        }
        expectUnchanged(table, .uniqueViolation(index: "tag", value: 7)) { () throws(TableError) in
            try table.update(Player(id: 8, name: "p8", tag: 7))
        }
        expectUnchanged(table, .missingKey("players[500]")) { () throws(TableError) in try table.delete(500) }
        expectUnchanged(table, .keyChanged("players[2]")) { () throws(TableError) in try table.modify(2) { $0.id = 77 } }
        let query = Query<Player>(.test { $0.count == 0 }, requiresIndex: true)
        expectUnchanged(table, .indexRequired(plan: "full scan → filter (1)")) { () throws(TableError) in _ = try table.select(query) }
        // An update by query that breaks a unique index on its third record undoes the first two.
        expectUnchanged(table, .uniqueViolation(index: "tag", value: 1000)) { () throws(TableError) in
            try table.update(where: Query(.equal(Player.ownerColumn, 1), order: .byKey)) { row in
                row.count = 9
                if row.id >= 11 { row.tag = 1000 }
            }
        }
    }

    @Test func compareAndSwapAndCounters() throws {
        let table = filled(3)
        let read = try #require(table.getVersioned(1))
        let written = try table.update(Player(id: 1, score: 5), ifVersion: read.version)
        #expect(written > read.version)
        #expect(throws: TableError.versionMismatch(expected: read.version, actual: written)) {
            try table.update(Player(id: 1, score: 6), ifVersion: read.version)
        }
        #expect(try table.increment(2, \.count, by: 5) == 5)
        #expect(try table.increment(2, \.count, by: -2) == 3)
        #expect(try table.increment(9, \.count, by: 4, initial: Player(id: 9)) == 4)
        #expect(throws: TableError.missingKey("players[10]")) { try table.increment(10, \.count) }
        #expect(table.get(9)?.count == 4)
    }

    @Test func plannerPrefersPrimaryKeyThenUniqueThenHashThenOrdered() {
        let table = filled()
        func access(_ filter: Predicate<Player>, order: Order<Player>? = nil) -> QueryPlan.Access {
            table.explain(Query(filter, order: order)).access
        }
        let owner = Predicate<Player>.equal(Player.ownerColumn, 1)
        let score = Predicate<Player>.between(Player.scoreColumn, 2...4)
        #expect(access(.and([owner, score, .key(3)])) == .primaryKey(keys: 1))
        #expect(access(.and([owner, .equal(Player.nameColumn, "p3")])) == .uniqueIndex("name", values: 1))
        #expect(access(.and([score, .oneOf(Player.tagColumn, [1, 2])])) == .uniqueIndex("tag", values: 2))
        #expect(access(.and([score, owner])) == .hashIndex("owner", values: 1))
        #expect(access(score) == .orderedIndex("score", ranges: 1, descending: false))
        #expect(access(.or([owner, score])) == .scan)
        let ordered = table.explain(Query(owner, order: .by(Player.scoreColumn, descending: true), limit: 3))
        #expect(ordered.description == "hash index owner (1 value) → sort → limit 3")
        let walk = table.explain(Query(.test { $0.count > 0 }, order: .by(Player.scoreColumn, descending: true), limit: 3))
        #expect(walk.description == "ordered index score (1 range, descending) → filter (1) → limit 3")
        #expect(try! table.select(Query(order: .by(Player.scoreColumn, descending: true), limit: 3)).map(\.id) == [49, 39, 29])
        #expect(try! table.count(Query(score)) == 15)
    }
}

@Suite struct PrimaryIndexTests {
    @Test func manyInsertsAndDeletesKeepEveryKeyFindable() throws {
        let table = Table(Player.schema, clock: ManualClock())
        var random = SeededGenerator(seed: 7)
        var model = Set<Int64>()
        for _ in 0..<20_000 {
            let key = Int64.random(in: 0..<3000, using: &random)
            if model.contains(key) {
                try table.delete(key)
                model.remove(key)
            } else {
                try table.insert(Player(id: key))
                model.insert(key)
            }
        }
        #expect(try table.count() == model.count)
        for key in Int64(0)..<3000 { #expect(table.contains(key) == model.contains(key)) }
        #expect(table.invariantViolations() == [])
    }
}

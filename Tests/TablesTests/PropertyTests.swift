// Random operation sequences against the naive model: every result, every error, every query
// answer, the change feed and the index invariants must agree — also across export and import.
import Testing
import Tables

@Suite struct PropertyTests {
    struct Run {
        var random: SeededGenerator
        var table: Table<Player>
        var model = NaiveModel()
        let clock = ManualClock()
        /// A replica kept only from the feed (and from snapshots when told to resync).
        var replica: [Int64: Player] = [:]
        var cursor: UInt64 = 0

        init(seed: UInt64) {
            random = SeededGenerator(seed: seed)
            table = Table(Player.schema, options: TableOptions(feedCapacity: 64), clock: clock)
        }

        mutating func int(_ range: Range<Int64>) -> Int64 { Int64.random(in: range, using: &random) }
        mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

        mutating func row() -> Player {
            Player(id: int(0..<40), owner: int(0..<5), score: int(0..<20), name: "n\(int(0..<60))",
                   tag: int(0..<80), count: int(0..<10))
        }

        /// A version to compare-and-swap on: usually the current one, sometimes stale.
        mutating func version(of key: Int64) -> UInt64? {
            guard chance(0.5) else { return nil }
            let current = model.find(key).map { model.records[$0].version } ?? 0
            return chance(0.8) ? current : current + 1
        }

        mutating func predicate(depth: Int = 0) -> Predicate<Player> {
            switch int(0..<(depth < 2 ? 12 : 9)) {
            case 0: return .key(int(0..<40))
            case 1: return .keys((0..<int(0..<4)).map { _ in int(0..<40) })
            case 2: return .equal(Player.ownerColumn, .int(int(0..<5)))
            case 3: return .oneOf(Player.ownerColumn, (0..<int(1..<3)).map { _ in .int(int(0..<5)) })
            case 4: return .equal(Player.nameColumn, .string("n\(int(0..<60))"))
            case 5:
                let low = int(0..<20)
                return .range(Player.scoreColumn, lower: chance(0.8) ? Bound(.int(low), inclusive: chance(0.5)) : nil,
                              upper: chance(0.8) ? Bound(.int(low + int(0..<8)), inclusive: chance(0.5)) : nil)
            case 6:
                let low = int(0..<80)
                return .between(Player.tagColumn, low...low + int(0..<10))
            case 7: return .oneOf(Player.tagColumn, (0..<int(1..<4)).map { _ in .int(int(0..<80)) })
            case 8:
                let m = int(2..<4)
                return .test { $0.count % m == 0 }
            case 9: return .and((0..<int(1..<4)).map { _ in predicate(depth: depth + 1) })
            case 10: return .or((0..<int(1..<3)).map { _ in predicate(depth: depth + 1) })
            default: return .not(predicate(depth: depth + 1))
            }
        }

        mutating func query(ordered: Bool) -> Query<Player> {
            let columns = [nil, Player.scoreColumn, Player.ownerColumn, Player.tagColumn, Player.countColumn]
            let order: Order<Player>? = ordered || chance(0.5)
                ? Order(column: columns[Int(int(0..<5))], descending: chance(0.4)) : nil
            let paged = order != nil && chance(0.4)
            return Query(chance(0.9) ? predicate() : nil, order: order,
                         limit: paged ? Int(int(0..<6)) : nil, offset: paged ? Int(int(0..<4)) : 0)
        }

        mutating func step() {
            switch int(0..<12) {
            case 0, 1:
                let r = row()
                #expect(Result { () throws(TableError) in try table.insert(r) } == model.insert(r), "insert \(r)")
            case 2:
                let r = row()
                #expect(Result { () throws(TableError) in try table.upsert(r) } == model.upsert(r), "upsert \(r)")
            case 3:
                let r = row()
                let v = version(of: r.id)
                #expect(Result { () throws(TableError) in try table.update(r, ifVersion: v) } == model.update(r, ifVersion: v))
            case 4:
                let key = int(0..<40)
                let v = version(of: key)
                let score = int(0..<20)
                let tag = int(0..<80)
                let change: @Sendable (inout Player) -> Void = { $0.score = score; if tag < 20 { $0.tag = tag } }
                #expect(Result { () throws(TableError) in try table.modify(key, ifVersion: v, change) }
                        == model.modify(key, ifVersion: v, change))
            case 5:
                let key = int(0..<40)
                let v = version(of: key)
                #expect(Result { () throws(TableError) in try table.delete(key, ifVersion: v) } == model.delete(key, ifVersion: v))
            case 6:
                let key = int(0..<40)
                let initial = chance(0.5) ? Player(id: key, name: "i\(key)", tag: 100 + key) : nil
                let delta = int(-3..<4)
                #expect(Result { () throws(TableError) in try table.increment(key, \.count, by: delta, initial: initial) }
                        == model.increment(key, by: delta, initial: initial))
            case 7:
                var q = query(ordered: true)
                q.order = q.order ?? .byKey
                let tag = int(0..<80)
                let renames = chance(0.5)
                let change: @Sendable (inout Player) -> Void = { $0.count += 1; if renames { $0.tag = tag } }
                #expect(Result { () throws(TableError) in try table.update(where: q, change) } == model.updateAll(q, change))
            case 8:
                var q = query(ordered: true)
                q.order = q.order ?? .byKey
                #expect(Result { () throws(TableError) in try table.delete(where: q) } == .success(model.deleteAll(q)))
            default:
                compareQuery(query(ordered: false))
            }
            followFeed()
        }

        func compareQuery(_ q: Query<Player>) {
            let expected = model.select(q)
            let actual = try! table.select(q)
            #expect(try! table.count(q) == expected.count || (q.order == nil && q.limit != nil))
            if q.order != nil || q.limit == nil && q.offset == 0 {
                let sorted = q.order == nil ? actual.sorted { $0.id < $1.id } : actual
                let wanted = q.order == nil ? expected.sorted { $0.id < $1.id } : expected
                #expect(sorted == wanted, "query \(q.filter.map { "\($0)" } ?? "all") plan \(table.explain(q))")
            } else {
                let all = Set(model.select(Query(q.filter)).map(\.id))
                #expect(Set(actual.map(\.id)).isSubset(of: all) && Set(actual.map(\.id)).count == actual.count)
            }
        }

        mutating func followFeed() {
            switch table.changes(after: cursor, limit: 7) {
            case .resync:
                let snapshot = table.snapshot()
                replica = Dictionary(uniqueKeysWithValues: snapshot.rows.map { ($0.id, $0) })
                cursor = snapshot.position
            case .changes(let batch):
                for change in batch {
                    #expect(change.position == cursor + 1)
                    cursor = change.position
                    replica[change.key] = change.row
                }
            }
        }

        mutating func swapThroughExport() throws {
            let bytes = table.export()
            table = try Table.importing(bytes, schema: Player.schema, options: TableOptions(feedCapacity: 64), clock: clock)
            #expect(table.position == model.position)
        }

        func checkAll() {
            #expect(table.invariantViolations() == [])
            #expect(table.position == model.position)
            let rows = try! table.select(Query(order: .byKey))
            #expect(rows == model.select(Query(order: .byKey)))
            for record in model.records {
                #expect(table.getVersioned(record.row.id)?.version == record.version)
            }
            let modelRows = Dictionary(uniqueKeysWithValues: model.records.map { ($0.row.id, $0.row) })
            if cursor == table.position { #expect(replica == modelRows) }
        }
    }

    @Test(arguments: 0..<12)
    func randomSequencesMatchTheModel(seed: UInt64) throws {
        var run = Run(seed: seed)
        for i in 1...500 {
            run.step()
            if i % 50 == 0 {
                run.checkAll()
                if run.chance(0.5) { try run.swapThroughExport() }
                run.followFeed()
            }
        }
        try run.swapThroughExport()
        run.checkAll()
        for _ in 0..<40 { run.compareQuery(run.query(ordered: false)) }
    }
}

/// Thousands of records, so the ordered index spans many leaves that split, shrink and merge.
@Suite struct LargeTableTests {
    @Test func rangeQueriesOnAManyLeafIndexMatchTheModel() throws {
        var random = SeededGenerator(seed: 99)
        let table = Table(Player.schema, clock: ManualClock())
        var model: [Int64: Player] = [:]
        func row(_ id: Int64) -> Player {
            Player(id: id, owner: Int64.random(in: 0..<50, using: &random), score: Int64.random(in: 0..<400, using: &random),
                   tag: id)
        }
        for id in Int64(0)..<6000 {
            let r = row(id)
            try table.insert(r)
            model[id] = r
        }
        for step in 0..<6000 {
            let id = Int64.random(in: 0..<6000, using: &random)
            if step % 3 == 0, model[id] != nil {
                try table.delete(id)
                model[id] = nil
            } else {
                let r = row(id)
                try table.upsert(r)
                model[id] = r
            }
        }
        #expect(table.invariantViolations() == [])
        for _ in 0..<60 {
            let low = Int64.random(in: 0..<400, using: &random)
            let high = low + Int64.random(in: 0..<60, using: &random)
            let descending = Bool.random(using: &random)
            let query = Query<Player>(.between(Player.scoreColumn, low...high),
                                      order: .by(Player.scoreColumn, descending: descending),
                                      limit: Int.random(in: 1..<400, using: &random), offset: Int.random(in: 0..<20, using: &random))
            var expected = model.values.filter { (low...high).contains($0.score) }
                .sorted { ($0.score, $0.id) < ($1.score, $1.id) }
            if descending { expected.reverse() }
            expected = Array(expected.dropFirst(query.offset).prefix(query.limit!))
            #expect(try table.select(query) == expected)
            #expect(!table.explain(query).sorts)
            let owner = Int64.random(in: 0..<50, using: &random)
            #expect(Set(try table.select(Query(.equal(Player.ownerColumn, .int(owner)))).map(\.id))
                    == Set(model.values.filter { $0.owner == owner }.map(\.id)))
        }
    }
}

extension LargeTableTests {
    /// Strings and negative integers in ordered indexes (their prefixes tie or cross zero).
    @Test func orderedIndexesOnStringsAndNegativeNumbers() throws {
        let schema = TableSchema<Player>(name: "mixed", indexes: [
            IndexSpec(Player.nameColumn, .ordered), IndexSpec(Player.scoreColumn, .ordered),
        ])
        var random = SeededGenerator(seed: 5)
        let table = Table(schema, clock: ManualClock())
        var model: [Int64: Player] = [:]
        for id in Int64(0)..<3000 {
            let r = Player(id: id, score: Int64.random(in: -1_000_000...1_000_000, using: &random) * (1 << 40),
                           name: String(Int.random(in: 0..<500, using: &random), radix: 7))
            try table.insert(r)
            model[id] = r
        }
        for id in stride(from: Int64(0), to: 3000, by: 3) {
            try table.delete(id)
            model[id] = nil
        }
        #expect(table.invariantViolations() == [])
        for _ in 0..<40 {
            let a = String(Int.random(in: 0..<500, using: &random), radix: 7)
            let b = String(Int.random(in: 0..<500, using: &random), radix: 7)
            let (low, high) = (min(a, b), max(a, b))
            let byName = Query<Player>(.range(Player.nameColumn, lower: Bound(.string(low), inclusive: true),
                                              upper: Bound(.string(high), inclusive: false)), order: .by(Player.nameColumn))
            let expected = model.values.filter { $0.name >= low && $0.name < high }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
            #expect(try table.select(byName) == expected)
            let cut = Int64.random(in: -1_000_000...1_000_000, using: &random) * (1 << 40)
            let below = Query<Player>(.less(Player.scoreColumn, .int(cut)), order: .by(Player.scoreColumn, descending: true))
            let wanted = model.values.filter { $0.score < cut }.sorted { ($0.score, $0.id) > ($1.score, $1.id) }
            #expect(try table.select(below) == wanted)
        }
    }
}

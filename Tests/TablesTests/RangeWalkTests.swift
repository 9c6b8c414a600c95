// Range walks prefetch the next leaf's records and stop at the upper bound by comparing dense
// prefixes first: results must equal a plain filter and sort, in order, wherever a range starts
// or ends relative to leaf boundaries, runs of equal values that span leaves, and equal prefixes.
import Testing
import Tables

@Suite struct RangeWalkTests {
    /// Every inclusive/exclusive/open range over values whose duplicates span several leaves.
    @Test func rangesMatchTheModelAcrossLeafBoundaries() throws {
        var random = SeededGenerator(seed: 5)
        let table = Table(Player.schema, clock: ManualClock())
        var model: [Player] = []
        for id in Int64(0)..<3000 {
            // 0..<120 gives about 25 records per value; 9 bits apart from the rest, a few values share prefixes.
            let score = Int64.random(in: -60..<60, using: &random) * (id % 11 == 0 ? 8 : 1)
            let r = Player(id: id, score: score)
            try table.insert(r)
            model.append(r)
        }
        #expect(table.invariantViolations() == [])
        let sortedModel = model.sorted { ($0.score, $0.id) < ($1.score, $1.id) }
        let values: [Int64] = [-481, -480, -59, -8, 0, 7, 8, 59, 60, 480]
        var bounds: [Bound?] = [nil]
        for v in values { bounds += [Bound(.int(v), inclusive: true), Bound(.int(v), inclusive: false)] }
        for lower in bounds {
            for upper in bounds {
                let query = Query<Player>(.range(Player.scoreColumn, lower: lower, upper: upper))
                let expected = sortedModel.filter { Predicate<Player>.matches(.int($0.score), lower, upper) }.map(\.id)
                #expect(try table.select(query).map(\.id) == expected, "\(String(describing: lower)) ..< \(String(describing: upper))")
                let descending = Query<Player>(.range(Player.scoreColumn, lower: lower, upper: upper),
                                               order: .by(Player.scoreColumn, descending: true))
                #expect(try table.select(descending).map(\.id) == expected.reversed())
                let limited = Query<Player>(.range(Player.scoreColumn, lower: lower, upper: upper), limit: 70)
                #expect(try table.select(limited).map(\.id) == Array(expected.prefix(70)))
            }
        }
    }

    /// Strings all share one prefix, so every bound check falls back to whole values.
    @Test func stringRangesCompareWholeValues() throws {
        let name = Column<Player>("name") { .string($0.name) }
        let schema = TableSchema<Player>(name: "names", indexes: [IndexSpec(name, .ordered)])
        let table = Table(schema, clock: ManualClock())
        var random = SeededGenerator(seed: 9)
        var model: [Player] = []
        for id in Int64(0)..<1000 {
            let r = Player(id: id, name: "n\(Int.random(in: 0..<40, using: &random))")
            try table.insert(r)
            model.append(r)
        }
        for (low, high) in [("n1", "n2"), ("n10", "n10"), ("n3", "n39"), ("", "n5"), ("n7", "z")] {
            for inclusive in [true, false] {
                let lower = Bound(.string(low), inclusive: inclusive)
                let upper = Bound(.string(high), inclusive: !inclusive)
                let got = try table.select(Query(.range(name, lower: lower, upper: upper))).map(\.id)
                let expected = model.filter { Predicate<Player>.matches(.string($0.name), lower, upper) }
                    .sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map(\.id)
                #expect(got == expected, "\(low) ... \(high), inclusive \(inclusive)")
            }
        }
    }

    /// With expiring records the walk reads each expiry too and skips expired records.
    @Test func rangesSkipExpiredRecords() throws {
        let clock = ManualClock()
        let table = Table(Player.schema, clock: clock)
        for id in Int64(0)..<2000 {
            try table.insert(Player(id: id, score: id % 100), expiry: id % 3 == 0 ? .after(.seconds(10)) : .never)
        }
        clock.advance(by: .seconds(11))
        let query = Query<Player>(.between(Player.scoreColumn, 10...40))
        let live: [Int64] = (Int64(0)..<2000).filter { (id: Int64) -> Bool in id % 3 != 0 }
        let inRange: [Int64] = live.filter { (id: Int64) -> Bool in id % 100 >= 10 && id % 100 <= 40 }
        let expected: [Int64] = inRange.sorted { (a: Int64, b: Int64) -> Bool in (a % 100, a) < (b % 100, b) }
        #expect(try table.select(query).map(\.id) == expected)
        let probe = try table.select(Query(.equal(Player.ownerColumn, .int(0)))).map(\.id).sorted()
        #expect(probe == live)
    }

    /// An ordered index holds integers exactly until another kind of value arrives; then it
    /// switches to prefixes beside whole values. Kinds mixed through inserts, updates and deletes
    /// over many leaves: ranges and orders must match the model before and after the switch.
    @Test func integerIndexesSwitchToMixedValues() throws {
        // count picks the kind: 0 → null, 1 → a uint, 2 → a string, otherwise the integer score.
        let mixed = Column<Player>("mixed") { p in
            switch p.count {
            case 0: .null
            case 1: .uint(UInt64(p.score & 0xFF))
            case 2: .string("s\(p.score & 0xF)")
            default: .int(p.score)
            }
        }
        let schema = TableSchema<Player>(name: "mixed", indexes: [IndexSpec(mixed, .ordered)])
        let table = Table(schema, clock: ManualClock())
        var random = SeededGenerator(seed: 23)
        var model: [Int64: Player] = [:]
        func check(_ stage: String) throws {
            #expect(table.invariantViolations() == [], "\(stage)")
            let sorted = model.values.sorted { (mixed.value($0), $0.id) < (mixed.value($1), $1.id) }
            let bounds: [Bound?] = [nil, Bound(.null, inclusive: false), Bound(.int(-5), inclusive: true),
                                    Bound(.int(100), inclusive: false), Bound(.uint(7), inclusive: true), Bound(.string("s3"), inclusive: false)]
            for lower in bounds {
                for upper in bounds {
                    let expected = sorted.filter { Predicate<Player>.matches(mixed.value($0), lower, upper) }.map(\.id)
                    let query = Query<Player>(.range(mixed, lower: lower, upper: upper))
                    #expect(try table.select(query).map(\.id) == expected, "\(stage): \(String(describing: lower)) ..< \(String(describing: upper))")
                    let descending = Query<Player>(.range(mixed, lower: lower, upper: upper), order: .by(mixed, descending: true), limit: 50)
                    #expect(try table.select(descending).map(\.id) == Array(expected.reversed().prefix(50)), "\(stage) descending")
                }
            }
        }
        for id in Int64(0)..<3000 {
            let r = Player(id: id, score: Int64.random(in: -200..<200, using: &random), count: 3)
            try table.insert(r)
            model[id] = r
        }
        try check("integers only")
        for step in 0..<3000 {
            let id = Int64.random(in: 0..<3500, using: &random)
            if step % 7 == 0, model[id] != nil {
                _ = try table.delete(id)
                model[id] = nil
                continue
            }
            let kind = step < 200 ? 3 : Int64.random(in: 0..<6, using: &random)
            let r = Player(id: id, score: Int64.random(in: -200..<200, using: &random), count: kind)
            try table.upsert(r)
            model[id] = r
            if step == 199 || step == 400 { try check("step \(step)") }
        }
        try check("mixed")
    }
}

extension Predicate {
    /// The model's reading of a range, written out rather than shared with the code under test.
    static func matches(_ value: IndexValue, _ lower: Bound?, _ upper: Bound?) -> Bool {
        if let lower, lower.inclusive ? value < lower.value : value <= lower.value { return false }
        if let upper, upper.inclusive ? upper.value < value : upper.value <= value { return false }
        return true
    }
}

// The ordered index on its own, against a sorted array of (value, key): the exact-mode paths
// (`insertExact`, `removeExact`, searched on words and keys alone) with many keys per value,
// entries at leaf boundaries, splits and merges, stale leaf guesses, and the switch out of
// exact mode in the middle of a run.
import Testing
@testable import Tables

@Suite struct OrderedIndexTests {
    typealias Index = OrderedIndex<Int64>

    /// Every entry in index order, read back through `forEachReversed`.
    func contents(_ index: Index) -> [(IndexValue, Int64, Int32)] {
        var all: [(IndexValue, Int64, Int32)] = []
        index.forEachReversed(before: index.endPosition) { all.append(($0.value, $0.key, $0.slot)); return true }
        return all.reversed()
    }

    func expectMatches(_ index: Index, _ model: [(IndexValue, Int64)], _ stage: String) {
        let sorted = model.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        let got = contents(index)
        #expect(index.checkInvariants(), "\(stage)")
        #expect(got.count == sorted.count, "\(stage)")
        #expect(got.map(\.0) == sorted.map(\.0) && got.map(\.1) == sorted.map(\.1), "\(stage)")
        // Slots were handed out as the key's low bits.
        #expect(got.allSatisfy { Int64($0.2) == $0.1 & 0xFFFF }, "\(stage)")
    }

    /// Few values, many keys each: runs of equal words span several leaves, so both the leaf
    /// choice and the in-leaf search must tell entries apart on keys. With a wider spread, runs
    /// are a few entries long: stepped along, or binary-searched past four.
    @Test(arguments: [2, 400] as [Int64]) func equalWordsWithManyKeys(spread: Int64) {
        var random = SeededGenerator(seed: 7)
        var index = Index()
        var model: [(IndexValue, Int64)] = []
        var used = Set<Int64>()
        for _ in 0..<3000 {
            let value = Int64.random(in: -spread...spread, using: &random)
            let key = Int64.random(in: 0..<1_000_000, using: &random)
            guard used.insert(key).inserted else { continue }
            index.insertExact(Index.intWord(value), key, Int32(key & 0xFFFF), leafGuess: Int.random(in: -1...60, using: &random))
            model.append((.int(value), key))
        }
        expectMatches(index, model, "filled")
        // A present word with a key that is not there, and an absent word, are not removed.
        do { let done = index.removeExact(Index.intWord(0), -5); #expect(!done) }
        do { let done = index.removeExact(Index.intWord(99), model[0].1); #expect(!done) }
        do { let done = index.remove(.string("x"), model[0].1); #expect(!done) }
        model.shuffle(using: &random)
        for (value, key) in model.suffix(2500) {
            guard case .int(let v) = value else { continue }
            do { let done = index.removeExact(Index.intWord(v), key, leafGuess: Int.random(in: -1...60, using: &random)); #expect(done) }
        }
        model.removeLast(2500)
        expectMatches(index, model, "after removals")
    }

    /// Ascending and descending runs put every insert at a leaf's end or start, then removals
    /// from both ends empty leaves one by one and merge small ones.
    @Test func leafBoundariesSplitsAndMerges() {
        var index = Index()
        var model: [(IndexValue, Int64)] = []
        for i in Int64(0)..<700 {
            index.insert(.int(i * 2), i, Int32(i))
            index.insert(.int(-i * 2 - 1), 10_000 + i, Int32(10_000 + i))
            model.append((.int(i * 2), i))
            model.append((.int(-i * 2 - 1), 10_000 + i))
        }
        expectMatches(index, model, "ascending and descending")
        let byValue = model.sorted { $0.0 < $1.0 }
        var left = byValue[...]
        var step = 0
        while left.count > 40 {
            let (value, key) = step % 3 == 0 ? left.removeLast() : left.removeFirst()
            do { let done = index.remove(value, key); #expect(done) }
            step += 1
            if step % 250 == 0 { expectMatches(index, Array(left), "removal \(step)") }
        }
        expectMatches(index, Array(left), "removals")
        for (value, key) in left { do { let done = index.remove(value, key); #expect(done) } }
        #expect(index.leafCount == 0 && index.count == 0 && index.checkInvariants())
        index.insertExact(Index.intWord(5), 5, 5)  // a freed leaf is reused
        expectMatches(index, [(.int(5), 5)], "refilled")
    }

    /// The first non-integer value switches the index out of exact mode; integer entries put in
    /// before it must still be found and removed, and new ones ordered among them.
    @Test func leavingExactModeMidway() {
        var random = SeededGenerator(seed: 11)
        var index = Index()
        var model: [(IndexValue, Int64)] = []
        var key: Int64 = 0
        for round in 0..<2 {
            for _ in 0..<800 {
                key += 1
                let value = IndexValue.int(Int64.random(in: -50...50, using: &random))
                index.insert(value, key, Int32(key & 0xFFFF))
                model.append((value, key))
            }
            if round == 0 {
                #expect(index.exact)
                for value in [IndexValue.string("m"), .null, .uint(3), .bool(true)] {
                    key += 1
                    index.insert(value, key, Int32(key & 0xFFFF))
                    model.append((value, key))
                }
                #expect(!index.exact)
                expectMatches(index, model, "left exact mode")
            }
        }
        model.shuffle(using: &random)
        for (value, key) in model.suffix(1000) { do { let done = index.remove(value, key); #expect(done) } }
        model.removeLast(1000)
        expectMatches(index, model, "mixed removals")
    }
}

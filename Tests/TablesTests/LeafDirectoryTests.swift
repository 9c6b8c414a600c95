// The ordered index's top level (`LeafDirectory`) against a plain array of leaves in key order:
// leaves added and dropped at random places split full blocks, drop empty ones and join thin
// ones; ranks stepped with `next`/`previous` must visit the model's leaves in order, and the
// searches must agree with a linear scan of the model. Then an ordered index large enough for
// many blocks, with runs of equal words that cross block boundaries.
import Testing
@testable import Tables

@Suite struct LeafDirectoryTests {
    struct Leaf: Equatable {
        var id: Int32
        var size: Int
        var firstWord: UInt64
    }

    /// The directory's leaves in rank order, stepped forward, and checked stepping backward.
    func leaves(_ top: LeafDirectory) -> [Leaf] {
        let ranks = Array(top.ranks)
        #expect(ranks.allSatisfy(top.contains))
        let all = ranks.map { Leaf(id: Int32(top.leaf($0).id), size: top.leaf($0).size, firstWord: top.firstWord($0)) }
        var back = top.end
        for expected in ranks.reversed() {
            back = top.previous(back)
            #expect(back == expected)
        }
        return all
    }

    @Test func randomInsertsAndRemovalsMatchTheModel() {
        var random = SeededGenerator(seed: 23)
        var top = LeafDirectory()
        var model: [Leaf] = []
        var nextID: Int32 = 0
        // Grows to a few hundred leaves (tens of blocks), then shrinks to none, twice.
        for step in 0..<6000 {
            let growing = (step / 1500) % 2 == 0
            if model.isEmpty || (growing ? Int.random(in: 0..<4, using: &random) > 0 : Int.random(in: 0..<4, using: &random) == 0) {
                let at = model.isEmpty ? -1 : Int.random(in: 0..<model.count, using: &random)
                let leaf = Leaf(id: nextID, size: Int.random(in: 1...32, using: &random), firstWord: UInt64(step))
                nextID += 1
                let rank = top.insert(after: at == -1 ? -1 : rank(of: at, top), id: leaf.id, size: leaf.size, firstWord: leaf.firstWord)
                model.insert(leaf, at: at + 1)
                #expect(top.leaf(rank).id == Int(leaf.id))
            } else {
                let at = Int.random(in: 0..<model.count, using: &random)
                top.remove(rank(of: at, top))
                model.remove(at: at)
            }
            if !model.isEmpty, step % 7 == 0 {  // sizes and first words change in place
                let at = Int.random(in: 0..<model.count, using: &random)
                model[at].size = Int.random(in: 1...32, using: &random)
                model[at].firstWord = UInt64.random(in: 0..<10_000, using: &random)
                top.setSize(rank(of: at, top), model[at].size)
                top.setFirstWord(rank(of: at, top), model[at].firstWord)
            }
            if step % 100 == 0 || model.count < 3 {
                #expect(leaves(top) == model, "step \(step)")
                #expect(top.leafCount == model.count)
                let firstWords = Dictionary(uniqueKeysWithValues: model.map { (Int($0.id), $0.firstWord) })
                #expect(top.checkInvariants { firstWords[$0]! }, "step \(step)")
            }
        }
        #expect(model.isEmpty || top.blocks.count <= model.count)
    }

    /// Leaves removed in key order, every tenth kept (a review's case): a thin block joins the
    /// neighbour on either side. Joining only rightward left one leaf in each block, as many
    /// blocks as leaves.
    @Test func thinBlocksJoinEitherNeighbour() {
        var top = LeafDirectory()
        var last = -1
        for id in 0..<400 { last = top.insert(after: last, id: Int32(id), size: 1, firstWord: UInt64(id)) }
        #expect(top.blocks.count >= 40)
        for id in 0..<400 where id % 10 != 0 { top.remove(rank(ofLeaf: id, top)) }
        #expect(top.leafCount == 40 && leaves(top).map(\.id) == (0..<40).map { Int32($0 * 10) })
        #expect(top.blocks.count * 2 <= top.leafCount, "\(top.blocks.count) blocks for \(top.leafCount) leaves")
        #expect(top.checkInvariants { UInt64($0) })

        // A thin block whose right neighbour is full joins the one on its left. Forty appended
        // leaves make blocks of 8, 8, 8 and 16 (a full block splits at its middle); taking 6 of
        // the third block's leaves leaves 2 there, which fit with the 8 before, not the 16 after.
        var small = LeafDirectory()
        last = -1
        for id in 0..<40 { last = small.insert(after: last, id: Int32(id), size: 1, firstWord: UInt64(id)) }
        #expect(small.blocks.map(\.count) == [8, 8, 8, 16])
        for id in 16..<22 { small.remove(rank(ofLeaf: id, small)) }
        #expect(small.blocks.map(\.count) == [8, 10, 16] && small.checkInvariants { UInt64($0) })
    }

    /// The rank of the model's leaf number `n`.
    func rank(of n: Int, _ top: LeafDirectory) -> Int {
        var rank = 0
        for _ in 0..<n { rank = top.next(rank) }
        return rank
    }

    /// The rank of leaf `id`, which must be there.
    func rank(ofLeaf id: Int, _ top: LeafDirectory) -> Int { top.ranks.first { top.leaf($0).id == id }! }

    /// Sorted first words: `firstLeaf(atOrAbove:)`, `firstRank` and `isFirstLeaf` against a scan.
    @Test func searchesAgreeWithALinearScan() {
        var random = SeededGenerator(seed: 29)
        var top = LeafDirectory()
        var words: [UInt64] = []
        // Appended in order, every leaf after the last, with repeated words: blocks split at
        // their middle, so ranks have gaps.
        var word: UInt64 = 10
        var rank = -1
        for id in 0..<500 {
            if Int.random(in: 0..<3, using: &random) == 0 { word += UInt64.random(in: 1...5, using: &random) }
            rank = top.insert(after: rank, id: Int32(id), size: 1, firstWord: word)
            words.append(word)
        }
        let ranks = Array(top.ranks)
        #expect(ranks.count == words.count && top.blocks.count > 30)
        for hint in UInt64(0)...(word + 2) {
            let expected = words.firstIndex { $0 >= hint }.map { ranks[$0] } ?? top.end
            let found = top.firstLeaf(atOrAbove: hint, sample: top.sample(atOrAbove: hint))
            #expect(found == expected, "hint \(hint)")
            #expect(top.isFirstLeaf(expected, atOrAbove: hint))
            if expected != top.end { #expect(!top.isFirstLeaf(top.next(expected), atOrAbove: hint)) }
            // firstRank over a sub-range, with a predicate on first words.
            let lowIndex = Int.random(in: 0..<words.count, using: &random)
            let highIndex = Int.random(in: lowIndex...words.count, using: &random)
            let low = ranks[lowIndex]
            let high = highIndex == words.count ? top.end : ranks[highIndex]
            let scan = (lowIndex..<highIndex).first { words[$0] > hint }.map { ranks[$0] } ?? high
            #expect(top.firstRank(from: low, to: high) { top.firstWord($0) > hint } == scan, "hint \(hint) in \(lowIndex)..<\(highIndex)")
        }
        #expect(!top.isFirstLeaf(top.end + 1, atOrAbove: 0) && !top.isFirstLeaf(-2, atOrAbove: 0))
    }

    /// An ordered index of 40K entries (about 1,800 leaves in well over 100 blocks) with only 30
    /// values: each value's run of equal words crosses blocks, so inserts and removals choose
    /// among leaves with equal first words by key. Emptied at random, it ends with no leaf.
    @Test func largeIndexWithRunsAcrossBlocks() {
        var random = SeededGenerator(seed: 31)
        var index = OrderedIndex<Int64>()
        var entries: [(value: Int64, key: Int64)] = []
        for key in Int64(0)..<40_000 {
            let value = Int64.random(in: 0..<30, using: &random)
            index.insertExact(OrderedIndex<Int64>.intWord(value), key, Int32(key & 0xFFFF))
            entries.append((value, key))
        }
        #expect(index.checkInvariants() && index.count == 40_000 && index.top.blocks.count > 100)
        entries.shuffle(using: &random)
        for (n, entry) in entries.enumerated() {
            let removed = index.removeExact(OrderedIndex<Int64>.intWord(entry.value), entry.key)
            #expect(removed)
            if n % 5000 == 0 { #expect(index.checkInvariants(), "after \(n) removals") }
        }
        #expect(index.count == 0 && index.leafCount == 0 && index.top.isEmpty && index.checkInvariants())
    }
}

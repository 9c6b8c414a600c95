// Edges of round 6's changes, written by a reviewer: the feed ring after an import at a non-zero
// position, key-path columns through nested structs and classes, rollback of a replace with a
// custom weight, slot lists through every block size and heavy promotion, and snapshots read on
// one task while another writes (clean under the thread sanitizer with prefetch compiled out).
import Testing
@testable import Tables
import Locks

struct Inner: Sendable { var a: Int32; var x: Int64 }
final class Box: Sendable { let v: Int64; init(_ v: Int64) { self.v = v } }
struct Nest: TableRecord {
    var id: Int64
    var inner: Inner
    var box: Box
    var key: Int64 { id }
}

@Suite struct EdgeTests {
    @Test func feedWrapsAfterRestoreAtNonZeroOrigin() throws {
        let src = Table(Player.schema, clock: ManualClock())
        for id in Int64(0)..<7 { try src.insert(Player(id: id)) }
        let t = try Table.importing(src.export(), schema: Player.schema, options: TableOptions(feedCapacity: 3), clock: ManualClock())
        #expect(t.position == 7)
        for round in Int64(0)..<11 {
            try t.modify(0) { $0.count = round }
            guard case .changes(let c) = t.changes(after: max(7, t.position - 3), limit: 10) else { Issue.record("resync"); return }
            #expect(c.map(\.position) == [t.position - 2, t.position - 1, t.position].filter { $0 > 7 })
            #expect(c.last?.row?.count == round)
        }
    }

    @Test func nestedAndClassKeyPathColumns() throws {
        let nested = Column<Nest>("x", \.inner.x)
        let viaClass = Column<Nest>("v", \.box.v)
        #expect(nested.offset == MemoryLayout<Nest>.offset(of: \Nest.inner)! + MemoryLayout<Inner>.offset(of: \Inner.x)!)
        #expect(viaClass.offset == nil)
        let t = Table(TableSchema<Nest>(name: "n", indexes: [IndexSpec(nested, .hash), IndexSpec(viaClass, .hash)]), clock: ManualClock())
        for id in Int64(0)..<200 { try t.insert(Nest(id: id, inner: Inner(a: -1, x: id % 5), box: Box(id % 3))) }
        try t.upsert(Nest(id: 1, inner: Inner(a: 0, x: 4), box: Box(2)))
        #expect(Set(try t.select(Query(.equal(nested, .int(4)))).map(\.id)) == Set((0..<200).filter { $0 == 1 || ($0 % 5 == 4) }))
        #expect(Set(try t.select(Query(.equal(viaClass, .int(2)))).map(\.id)) == Set((0..<200).filter { $0 == 1 || $0 % 3 == 2 }))
        #expect(t.invariantViolations() == [])
    }

    @Test func rollbackOfReplaceWithCustomWeight() throws {
        let opts = TableOptions<Player>(byteLimit: 100_000, weight: { 10 + $0.name.utf8.count })
        let t = Table(Player.schema, options: opts, clock: ManualClock())
        for id in Int64(0)..<50 { try t.insert(Player(id: id, name: "n\(id)")) }
        let before = t.stats
        let r = Result { () throws(TableError) in
            try Transaction.run([t]) { (tx) throws(TableError) in
                try tx.on(t).modify(3) { $0.name = String(repeating: "z", count: 500) }
                try tx.on(t).modify(4) { $0.owner = 9 }
                try tx.on(t).insert(Player(id: 5))  // duplicate: rolls back
            }
        }
        #expect(throws: TableError.self) { try r.get() }
        #expect(t.invariantViolations() == [])
        #expect("\(t.stats)" == "\(before)")
    }

    @Test func slotListsThroughEverySizeClassAndHeavy() throws {
        let t = Table(Player.schema, clock: ManualClock())
        var g = SeededGenerator(seed: 7)
        for id in Int64(0)..<3000 { try t.insert(Player(id: id, owner: Int64(g.below(40)))) }
        for step in 0..<20000 {
            let id = Int64(g.below(3000))
            let owner: Int64 = step % 3 == 0 ? 0 : Int64(g.below(step < 10000 ? 40 : 400))
            try t.modify(id) { $0.owner = owner }
            if step % 5000 == 0 { #expect(t.invariantViolations() == []) }
        }
        #expect(t.invariantViolations() == [])
        for owner in Int64(0)..<400 {
            let got = try t.select(Query(.equal(Player.ownerColumn, .int(owner)))).count
            let expected = try t.select(.all).filter { $0.owner == owner }.count
            if got != expected { Issue.record("owner \(owner): \(got) vs \(expected)") }
        }
    }

    @Test func snapshotReadWhileTableWrites() async throws {
        let t = Table(Player.schema, clock: ManualClock())
        for id in Int64(0)..<3000 { try t.insert(Player(id: id, score: id, name: "long-name-to-be-heap-allocated-\(id)")) }
        let snaps = Snaps()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in Int64(0)..<200 {
                    for id in stride(from: round % 7, to: 3000, by: 97) { try! t.modify(id) { $0.name = "renamed-long-name-\(round)-\(id)"; $0.score = -round } }
                    if round % 10 == 0 { let s = t.snapshot(); snaps.m.withLock { $0.append(s) } }
                    _ = try! t.insert(Player(id: 10_000 + round))
                    _ = try! t.delete(10_000 + round)
                }
            }
            group.addTask {
                for _ in 0..<200 {
                    guard let s = snaps.m.withLock({ $0.last }) else { continue }
                    // Each record is either as inserted or as one whole modify wrote it: a record
                    // torn between two writes fails here.
                    var consistent = 0
                    s.forEach { row, _, _ in
                        guard row.id < 3000 else { return }
                        let asInserted = row.score == row.id && row.name == "long-name-to-be-heap-allocated-\(row.id)"
                        if asInserted || row.name == "renamed-long-name-\(-row.score)-\(row.id)" { consistent += 1 }
                    }
                    #expect(consistent == 3000)
                }
            }
        }
        #expect(t.invariantViolations() == [])
    }
}

final class Snaps: Sendable { let m = SanitizedMutex<[TableSnapshot<Player>]>([]) }

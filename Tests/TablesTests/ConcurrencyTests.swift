// Writers and readers on several threads: records are never torn, indexes always agree with the
// records, and each feed position holds exactly the write that was given that version.
import Synchronization
import Testing
@testable import Tables
import Locks

final class Shared<Value: Sendable>: Sendable {
    let value: SanitizedMutex<Value>  // a plain Mutex hides contended hand-offs from TSan
    init(_ value: Value) { self.value = SanitizedMutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

@Suite struct ConcurrencyTests {
    /// Writers keep `score == tag - 1_000_000 == count` in every record they write.
    static func consistent(_ id: Int64, _ n: Int64) -> Player {
        Player(id: id, owner: n % 7, score: n, name: "w\(id)", tag: 1_000_000 + id * 100_000 + n % 100_000, count: n)
    }

    @Test func readersNeverSeeTornRecordsOrStaleIndexes() async {
        let table = Table(Player.schema, options: TableOptions(feedCapacity: 1 << 20), clock: ManualClock())
        for id in Int64(0)..<64 { try! table.insert(Self.consistent(id, 0)) }
        let written = Shared<[UInt64: Player]>([:])
        let problems = Shared<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for writer in Int64(0)..<3 {
                group.addTask {
                    var mine: [UInt64: Player] = [:]
                    var last: UInt64 = 0
                    for n in Int64(1)...1500 {
                        let row = Self.consistent((n * 7 + writer) % 64, n)
                        let version = try! table.upsert(row)
                        if version <= last { problems.withLock { $0.append("version went back") } }
                        last = version
                        mine[version] = row
                    }
                    written.withLock { $0.merge(mine) { a, _ in a } }
                }
            }
            for reader in 0..<2 {
                group.addTask {
                    for i in 0..<600 {
                        let owner = Int64(i % 7)
                        for row in try! table.select(Query(.equal(Player.ownerColumn, .int(owner)))) {
                            if row.owner != owner { problems.withLock { $0.append("index owner \(owner) gave \(row)") } }
                        }
                        if let row = table.get(Int64(i % 64)), row.tag % 100_000 != row.score % 100_000 || row.count != row.score {
                            problems.withLock { $0.append("torn \(row)") }
                        }
                        if reader == 0 && i % 100 == 0 { problems.withLock { $0 += table.invariantViolations() } }
                    }
                }
            }
        }
        #expect(problems.withLock { $0 } == [])
        #expect(table.invariantViolations() == [])
        guard case .changes(let changes) = table.changes(after: 64, limit: 1 << 20) else { Issue.record("resync"); return }
        let byVersion = written.withLock { $0 }
        #expect(changes.count == byVersion.count)
        #expect(changes.map(\.position) == Array(65...UInt64(64 + changes.count)))
        #expect(changes.allSatisfy { byVersion[$0.position] == $0.row })
    }
}

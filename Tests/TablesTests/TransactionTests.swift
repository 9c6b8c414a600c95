// All-or-nothing transactions over several tables.
import Testing
import Tables

struct Account: BinaryRecord, Equatable {
    var id: Int64
    var balance: Int64
    var key: Int64 { id }
    static let schema = TableSchema<Account>(name: "accounts")
    func encode(to writer: inout BinaryWriter) { writer.write(id); writer.write(balance) }
    init(from reader: inout BinaryReader) throws(TableError) { id = try reader.readInt(); balance = try reader.readInt() }
    init(id: Int64, balance: Int64) { self.id = id; self.balance = balance }
}

@Suite struct TransactionTests {
    @Test func aFailedTransactionLeavesEveryTableAsItWas() throws {
        let clock = ManualClock()
        let players = Table(Player.schema, clock: clock)
        let accounts = Table(Account.schema, clock: clock)
        try players.insert(Player(id: 1))
        try accounts.insert(Account(id: 1, balance: 10))
        let positions = (players.position, accounts.position)
        #expect(throws: TableError.uniqueViolation(index: "name", value: "p1")) {
            try Transaction.run([players, accounts]) { (tx) throws(TableError) in
                try tx.on(accounts).increment(1, \.balance, by: -5)
                try tx.on(accounts).insert(Account(id: 2, balance: 5))
                try tx.on(players).delete(1)
                try tx.on(players).insert(Player(id: 2, name: "p2", tag: 2))
                try tx.on(players).insert(Player(id: 1, name: "p1", tag: 1))  // fine: 1 was deleted above
                try tx.on(players).insert(Player(id: 3, name: "p1", tag: 3))  // clashes with the row just inserted
            }
        }
        #expect((players.position, accounts.position) == positions)
        #expect(try players.select(Query(order: .byKey)) == [Player(id: 1)])
        #expect(try accounts.select(Query(order: .byKey)) == [Account(id: 1, balance: 10)])
        #expect(players.invariantViolations() == [] && accounts.invariantViolations() == [])
        guard case .changes(let changes) = accounts.changes(after: 0) else { return }
        #expect(changes.count == 1)
    }

    @Test func aCommittedTransactionAppearsInEveryFeedInOrder() throws {
        let clock = ManualClock()
        let players = Table(Player.schema, clock: clock)
        let accounts = Table(Account.schema, clock: clock)
        try accounts.insert(Account(id: 1, balance: 10))
        let moved: Int64 = try Transaction.run([accounts, players, accounts]) { (tx) throws(TableError) -> Int64 in
            let balance = try tx.on(accounts).increment(1, \.balance, by: -3)
            try tx.on(accounts).insert(Account(id: 2, balance: 3))
            try tx.on(players).insert(Player(id: 7, count: balance))
            return balance
        }
        #expect(moved == 7 && players.get(7)?.count == 7 && accounts.get(2)?.balance == 3)
        guard case .changes(let changes) = accounts.changes(after: 0) else { return }
        #expect(changes.map(\.position) == [1, 2, 3] && changes.map(\.kind) == [.insert, .update, .insert])
    }

    @Test func opposingTransactionsDoNotDeadlock() async {
        let clock = ManualClock()
        let a = Table(Account.schema, clock: clock)
        let b = Table(Account.schema, clock: clock)
        try! a.insert(Account(id: 1, balance: 1000))
        try! b.insert(Account(id: 1, balance: 1000))
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for _ in 0..<500 {
                        let (from, to) = worker % 2 == 0 ? (a, b) : (b, a)
                        try! Transaction.run([from, to]) { (tx) throws(TableError) in
                            try tx.on(from).increment(1, \.balance, by: -1)
                            try tx.on(to).increment(1, \.balance, by: 1)
                        }
                    }
                }
            }
        }
        #expect(a.get(1)!.balance + b.get(1)!.balance == 2000)
        #expect(a.get(1)!.balance == 1000)  // as many transfers each way
    }
}

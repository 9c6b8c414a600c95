// The naive model the property test compares against: a plain array of records, every query a
// linear filter and a sort, every rule written out the obvious way.
import Tables

struct NaiveModel {
    struct Record: Equatable {
        var row: Player
        var version: UInt64
    }

    var records: [Record] = []
    var position: UInt64 = 0
    var changes: [(position: UInt64, kind: ChangeKind, key: Int64, row: Player?)] = []

    func find(_ key: Int64) -> Int? { records.firstIndex { $0.row.id == key } }
    func describe(_ key: Int64) -> String { "players[\(key)]" }

    func uniqueConflict(_ row: Player) -> TableError? {
        if records.contains(where: { $0.row.id != row.id && $0.row.name == row.name }) {
            return .uniqueViolation(index: "name", value: .string(row.name))
        }
        if records.contains(where: { $0.row.id != row.id && $0.row.tag == row.tag }) {
            return .uniqueViolation(index: "tag", value: .int(row.tag))
        }
        return nil
    }

    mutating func record(_ kind: ChangeKind, _ key: Int64, _ row: Player?) -> UInt64 {
        position += 1
        changes.append((position, kind, key, row))
        return position
    }

    mutating func insert(_ row: Player) -> Result<UInt64, TableError> {
        if find(row.id) != nil { return .failure(.duplicateKey(describe(row.id))) }
        if let conflict = uniqueConflict(row) { return .failure(conflict) }
        let version = record(.insert, row.id, row)
        records.append(Record(row: row, version: version))
        return .success(version)
    }

    mutating func update(_ row: Player, ifVersion: UInt64?) -> Result<UInt64, TableError> {
        guard let i = find(row.id) else { return .failure(.missingKey(describe(row.id))) }
        if let expected = ifVersion, records[i].version != expected {
            return .failure(.versionMismatch(expected: expected, actual: records[i].version))
        }
        if let conflict = uniqueConflict(row) { return .failure(conflict) }
        let version = record(.update, row.id, row)
        records[i] = Record(row: row, version: version)
        return .success(version)
    }

    mutating func upsert(_ row: Player) -> Result<UInt64, TableError> {
        find(row.id) == nil ? insert(row) : update(row, ifVersion: nil)
    }

    mutating func modify(_ key: Int64, ifVersion: UInt64?, _ body: (inout Player) -> Void) -> Result<UInt64, TableError> {
        guard let i = find(key) else { return .failure(.missingKey(describe(key))) }
        var row = records[i].row
        body(&row)
        return update(row, ifVersion: ifVersion)
    }

    mutating func delete(_ key: Int64, ifVersion: UInt64?) -> Result<Player, TableError> {
        guard let i = find(key) else { return .failure(.missingKey(describe(key))) }
        if let expected = ifVersion, records[i].version != expected {
            return .failure(.versionMismatch(expected: expected, actual: records[i].version))
        }
        _ = record(.delete, key, nil)
        return .success(records.remove(at: i).row)
    }

    mutating func increment(_ key: Int64, by delta: Int64, initial: Player?) -> Result<Int64, TableError> {
        if find(key) == nil, var row = initial {
            row.count &+= delta
            return insert(row).map { _ in row.count }
        }
        return modify(key, ifVersion: nil) { $0.count &+= delta }.map { _ in records[find(key)!].row.count }
    }

    /// All-or-nothing: on the first failure the model is left as it was.
    mutating func updateAll(_ query: Query<Player>, _ body: (inout Player) -> Void) -> Result<Int, TableError> {
        let saved = self
        let keys = select(query).map(\.id)
        for key in keys {
            if case .failure(let error) = modify(key, ifVersion: nil, body) {
                self = saved
                return .failure(error)
            }
        }
        return .success(keys.count)
    }

    mutating func deleteAll(_ query: Query<Player>) -> Int {
        let keys = select(query).map(\.id)
        for key in keys { _ = delete(key, ifVersion: nil) }
        return keys.count
    }

    func select(_ query: Query<Player>) -> [Player] {
        var rows = records.map(\.row).filter { row in query.filter.map { Self.evaluate($0, row) } ?? true }
        if let order = query.order {
            rows.sort { a, b in
                let va = order.column?.value(a) ?? .null
                let vb = order.column?.value(b) ?? .null
                return va < vb || (va == vb && a.id < b.id)
            }
            if order.descending { rows.reverse() }
        }
        rows = Array(rows.dropFirst(query.offset))
        if let limit = query.limit { rows = Array(rows.prefix(limit)) }
        return rows
    }

    static func evaluate(_ predicate: Predicate<Player>, _ row: Player) -> Bool {
        switch predicate {
        case .key(let key): return row.id == key
        case .keys(let keys): return keys.contains(row.id)
        case .equal(let column, let value): return column.value(row) == value
        case .oneOf(let column, let values): return values.contains(column.value(row))
        case .range(let column, let lower, let upper):
            let value = column.value(row)
            if let lower, value < lower.value || (!lower.inclusive && value == lower.value) { return false }
            if let upper, upper.value < value || (!upper.inclusive && value == upper.value) { return false }
            return true
        case .test(let test): return test(row)
        case .and(let parts): return parts.allSatisfy { evaluate($0, row) }
        case .or(let parts): return parts.contains { evaluate($0, row) }
        case .not(let part): return !evaluate(part, row)
        }
    }
}

// Queries: a filter tree over columns and keys, an order, limit and offset. The planner turns the
// filter's top-level conjuncts into an access path (see `QueryPlanner`); whatever the path does not
// guarantee is checked row by row.

public struct Bound: Sendable, Equatable {
    public var value: IndexValue
    public var inclusive: Bool
    public init(_ value: IndexValue, inclusive: Bool) {
        self.value = value
        self.inclusive = inclusive
    }
}

public indirect enum Predicate<Row: TableRecord>: Sendable {
    case key(Row.Key)
    case keys([Row.Key])
    case equal(Column<Row>, IndexValue)
    case oneOf(Column<Row>, [IndexValue])
    /// Values between `lower` and `upper` (either may be absent).
    case range(Column<Row>, lower: Bound?, upper: Bound?)
    /// Any test on the record; never served by an index.
    case test(@Sendable (Row) -> Bool)
    case and([Predicate])
    case or([Predicate])
    case not(Predicate)

    public static func between(_ column: Column<Row>, _ range: ClosedRange<Int64>) -> Predicate {
        .range(column, lower: Bound(.int(range.lowerBound), inclusive: true),
               upper: Bound(.int(range.upperBound), inclusive: true))
    }
    public static func less(_ column: Column<Row>, _ value: IndexValue) -> Predicate {
        .range(column, lower: nil, upper: Bound(value, inclusive: false))
    }
    public static func atLeast(_ column: Column<Row>, _ value: IndexValue) -> Predicate {
        .range(column, lower: Bound(value, inclusive: true), upper: nil)
    }

    @inline(__always)
    static func within(_ value: IndexValue, _ lower: Bound?, _ upper: Bound?) -> Bool {
        if let lower, lower.inclusive ? value < lower.value : value <= lower.value { return false }
        if let upper, upper.inclusive ? upper.value < value : upper.value <= value { return false }
        return true
    }

    /// The predicate as one closure: the tree is walked once here, not once per record.
    func compiled() -> (Row) -> Bool {
        switch self {
        case .key(let key): return { $0.key == key }
        case .keys(let keys):
            let set = Set(keys)
            return { set.contains($0.key) }
        case .equal(let column, let value):
            let read = column.value
            return { read($0) == value }
        case .oneOf(let column, let values):
            let read = column.value
            let set = Set(values)
            return { set.contains(read($0)) }
        case .range(let column, let lower, let upper):
            let read = column.value
            return { Self.within(read($0), lower, upper) }
        case .test(let test): return test
        case .and(let parts):
            let tests = parts.map { $0.compiled() }
            if tests.count == 1 { return tests[0] }
            if tests.count == 2 { return { [a = tests[0], b = tests[1]] row in a(row) && b(row) } }
            return { row in tests.allSatisfy { $0(row) } }
        case .or(let parts):
            let tests = parts.map { $0.compiled() }
            return { row in tests.contains { $0(row) } }
        case .not(let part):
            let test = part.compiled()
            return { !test($0) }
        }
    }

    /// The top-level conjuncts: the planner may serve any one of them from an index.
    var conjuncts: [Predicate] {
        if case .and(let parts) = self { return parts.flatMap(\.conjuncts) }
        return [self]
    }
}

public struct Order<Row>: Sendable {
    /// nil orders by primary key.
    public var column: Column<Row>?
    public var descending: Bool

    public init(column: Column<Row>?, descending: Bool = false) {
        self.column = column
        self.descending = descending
    }

    public static var byKey: Order { Order(column: nil, descending: false) }
    public static func by(_ column: Column<Row>, descending: Bool = false) -> Order {
        Order(column: column, descending: descending)
    }
}

/// A query. Results are in `order` (ties broken by primary key, so the order is total; descending
/// is the exact reverse); without an order, in whatever order the access path yields.
public struct Query<Row: TableRecord>: Sendable {
    public var filter: Predicate<Row>?
    public var order: Order<Row>?
    public var limit: Int?
    public var offset: Int
    /// Fail with `TableError.indexRequired` rather than scan the whole table.
    public var requiresIndex: Bool

    public init(
        _ filter: Predicate<Row>? = nil, order: Order<Row>? = nil, limit: Int? = nil, offset: Int = 0,
        requiresIndex: Bool = false
    ) {
        precondition(offset >= 0 && (limit ?? 0) >= 0, "query offset \(offset), limit \(String(describing: limit))")
        self.filter = filter
        self.order = order
        self.limit = limit
        self.offset = offset
        self.requiresIndex = requiresIndex
    }

    public static var all: Query { Query() }
}

/// What the planner chose; `explain()` returns it.
public struct QueryPlan: Sendable, Equatable, CustomStringConvertible {
    public enum Access: Sendable, Equatable {
        case primaryKey(keys: Int)
        case uniqueIndex(String, values: Int)
        case hashIndex(String, values: Int)
        case orderedIndex(String, ranges: Int, descending: Bool)
        case scan
    }

    public var access: Access
    /// Conjuncts checked per candidate record after the access path.
    public var residualFilters: Int
    /// Whether results are sorted after collection (false when the access path yields the order).
    public var sorts: Bool
    public var limit: Int?
    public var offset: Int

    public var usesIndex: Bool { access != .scan }

    public var description: String {
        var text: String
        switch access {
        case .primaryKey(let keys): text = "primary key lookup (\(keys) key\(keys == 1 ? "" : "s"))"
        case .uniqueIndex(let name, let values): text = "unique index \(name) (\(values) value\(values == 1 ? "" : "s"))"
        case .hashIndex(let name, let values): text = "hash index \(name) (\(values) value\(values == 1 ? "" : "s"))"
        case .orderedIndex(let name, let ranges, let descending):
            text = "ordered index \(name) (\(ranges) range\(ranges == 1 ? "" : "s")\(descending ? ", descending" : ""))"
        case .scan: text = "full scan"
        }
        if residualFilters > 0 { text += " → filter (\(residualFilters))" }
        if sorts { text += " → sort" }
        if offset > 0 { text += " → offset \(offset)" }
        if let limit { text += " → limit \(limit)" }
        return text
    }
}

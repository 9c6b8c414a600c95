// What a table stores and how it is indexed. A record is a plain `Sendable` value with a primary
// key; secondary indexes read a column out of it as an `IndexValue`. Columns are named closures
// rather than key paths because applying a key path is a runtime call on the hot path.

/// A value stored in a `Table`: plain data (no classes, short strings) keeps gets cheap.
public protocol TableRecord: Sendable {
    associatedtype Key: Hashable & Comparable & Sendable
    var key: Key { get }
}

/// The value of an indexed or queried column. Values of different cases order by case first.
public enum IndexValue: Hashable, Comparable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case string(String)

    @usableFromInline
    var rank: Int {
        switch self {
        case .null: 0
        case .bool: 1
        case .int: 2
        case .uint: 3
        case .string: 4
        }
    }

    // Written as nested switches, not a switch over `(lhs, rhs)`: forming that tuple copies both
    // values through outlined copy functions, which dominated index maintenance.
    @inlinable
    public static func < (lhs: IndexValue, rhs: IndexValue) -> Bool {
        switch lhs {
        case .int(let a): if case .int(let b) = rhs { return a < b }
        case .uint(let a): if case .uint(let b) = rhs { return a < b }
        case .string(let a): if case .string(let b) = rhs { return a < b }
        case .bool(let a): if case .bool(let b) = rhs { return !a && b }
        case .null: if case .null = rhs { return false }
        }
        return lhs.rank < rhs.rank
    }

    @inlinable
    public static func == (lhs: IndexValue, rhs: IndexValue) -> Bool {
        switch lhs {
        case .int(let a): if case .int(let b) = rhs { return a == b }
        case .uint(let a): if case .uint(let b) = rhs { return a == b }
        case .string(let a): if case .string(let b) = rhs { return a == b }
        case .bool(let a): if case .bool(let b) = rhs { return a == b }
        case .null: if case .null = rhs { return true }
        }
        return false
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let v): hasher.combine(v)
        case .int(let v): hasher.combine(v)
        case .uint(let v): hasher.combine(v)
        case .string(let v): hasher.combine(v)
        }
    }
}

extension IndexValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}

/// A named way to read one value out of a record. Queries and indexes refer to columns; the
/// planner matches a query's column to an index by name.
public struct Column<Row>: Sendable {
    public let name: String
    public let value: @Sendable (Row) -> IndexValue
    /// Where a column made from a stored `Int64` field sits in the record: indexes read it there
    /// with one load, where `value` costs a call through a reabstraction thunk (~40 instructions,
    /// four times a write that moves two indexes, once per candidate of a hash probe).
    public let offset: Int?

    public init(_ name: String, _ value: @escaping @Sendable (Row) -> IndexValue) {
        self.name = name
        self.value = value
        self.offset = nil
    }

    /// A column of an `Int64` field, e.g. `Column("owner", \Player.owner)`. A stored property of a
    /// struct is read at its offset; any other key path through `value`.
    public init(_ name: String, _ field: any KeyPath<Row, Int64> & Sendable) {
        self.name = name
        self.value = { .int($0[keyPath: field]) }
        self.offset = MemoryLayout<Row>.offset(of: field)
    }
}

/// Reads one indexed column (see `Column.offset`), copied out of the table's state for closures
/// that run while an index is reached in place.
struct ColumnReader<Row>: Sendable {
    /// ≥ 0: an `Int64` at this byte offset; -1: call `value`.
    let offset: Int
    let value: @Sendable (Row) -> IndexValue

    @inline(__always)
    func callAsFunction(_ row: Row) -> IndexValue {
        if offset >= 0 { return .int(Self.int(at: offset, of: row)) }
        return value(row)
    }

    /// The `Int64` field at byte `offset` of `row` (a `Column.offset`).
    @inline(__always)
    static func int(at offset: Int, of row: Row) -> Int64 {
        withUnsafeBytes(of: row) { $0.load(fromByteOffset: offset, as: Int64.self) }
    }
}

public enum IndexKind: Sendable, Equatable {
    /// Equality and `in` lookups.
    case hash
    /// Equality, `in`, ranges and order by; kept sorted by (value, primary key).
    case ordered
}

public struct IndexSpec<Row>: Sendable {
    public let column: Column<Row>
    public let kind: IndexKind
    public let unique: Bool

    public init(_ column: Column<Row>, _ kind: IndexKind, unique: Bool = false) {
        self.column = column
        self.kind = kind
        self.unique = unique
    }

    public var name: String { column.name }
}

/// The shape of a table: its name and schema version (both checked on import) and its indexes.
public struct TableSchema<Row: TableRecord>: Sendable {
    public let name: String
    public let version: UInt32
    public let indexes: [IndexSpec<Row>]

    public init(name: String, version: UInt32 = 1, indexes: [IndexSpec<Row>] = []) {
        var seen = Set<String>()
        for index in indexes {
            precondition(seen.insert(index.name).inserted, "table \(name): two indexes on column \(index.name)")
        }
        self.name = name
        self.version = version
        self.indexes = indexes
    }
}

// Expected failures of table operations. Every operation that throws one leaves every table it
// touched exactly as it was (validation happens before mutation; multi-row work is undone).

public enum TableError: Error, Equatable, Sendable {
    /// `insert` of a key that is already present (and not expired).
    case duplicateKey(String)
    /// `update`, `delete` or a counter on a key that is absent (or expired).
    case missingKey(String)
    /// A write would give two records the same value in a unique index.
    case uniqueViolation(index: String, value: IndexValue)
    /// Compare-and-swap failed: the record's version is not the one the caller read.
    case versionMismatch(expected: UInt64, actual: UInt64)
    /// The query demanded an index but the planner found only a full scan.
    case indexRequired(plan: String)
    /// An update changed a record's primary key; delete and insert instead.
    case keyChanged(String)
    /// The row or byte limit is reached and every candidate for eviction is unflushed.
    case capacityExceeded(rows: Int, bytes: Int)
    /// Import: bytes that are not a table export, or of another schema.
    case malformed(String)
    case schemaMismatch(expected: String, found: String)
    /// Thrown by a transaction body to give up; nothing it did stays.
    case aborted(String)
}

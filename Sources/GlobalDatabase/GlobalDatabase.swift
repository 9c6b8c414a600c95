// The global tier's contract: the durable materialisation of the consensus log plus the few
// write-behind paths that bypass it. Implemented in memory (the reference), on SQLite and on
// PostgreSQL/CockroachDB; one conformance suite (GlobalDatabaseTesting) holds them to it.

public protocol GlobalDatabase: Sendable {
    /// Applies consecutive committed entries of one consensus group in one transaction, guarded by
    /// the group's applied index: entries at or below it are skipped, a gap is refused, so replays
    /// and racing appliers change nothing. Entries must be consecutive and ascending.
    func apply(_ entries: [LogEntry], group: String) async throws(GlobalDatabaseError) -> ApplyReport
    func applyState(group: String) async throws(GlobalDatabaseError) -> ApplyState
    /// The outcome stored for a client request, returned to a client that retries it.
    func outcome(request: ID) async throws(GlobalDatabaseError) -> Outcome?

    func user(_ id: ID) async throws(GlobalDatabaseError) -> User?
    func asset(_ id: ID) async throws(GlobalDatabaseError) -> Asset?
    func versions(of asset: ID) async throws(GlobalDatabaseError) -> [AssetVersion]
    func entity(scope: ID, id: ID) async throws(GlobalDatabaseError) -> PersistentEntity?
    func instance(_ id: ID) async throws(GlobalDatabaseError) -> Instance?
    /// Index digests garbage collection must keep: ready versions and pins unexpired at `nowUs`.
    func gcRoots(nowUs: Int64) async throws(GlobalDatabaseError) -> Set<[UInt8]>

    /// Write-behind entity snapshots, many rows per statement; returns how many rows changed.
    func checkpoint(_ checkpoints: [EntityCheckpoint]) async throws(GlobalDatabaseError) -> Int
    /// Every domain row, sorted; for tests and tools on small databases.
    func contents() async throws(GlobalDatabaseError) -> GlobalContents
}

public enum GlobalDatabaseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The entries do not follow the applied index: earlier entries (or a snapshot) are needed first.
    case gap(appliedIndex: Int64, firstIndex: Int64)
    case malformedURL(String)
    case unreachable(String)
    /// The database was migrated by a newer binary; this one would misread it.
    case schemaTooNew(found: Int, supported: Int)
    /// The database has not been migrated to this binary's schema (`kura db migrate`).
    case schemaTooOld(found: Int, supported: Int)
    case constraintViolation(String)
    /// Retryable conflicts kept failing after every attempt.
    case retriesExhausted(attempts: Int, last: String)
    /// The commit's fate is unknown and the work was not idempotent, so it was not retried.
    case ambiguousCommit(String)
    case backend(String)

    public var description: String {
        switch self {
        case .gap(let applied, let first):
            "entries start at \(first) but the database has applied up to \(applied); earlier entries are needed"
        case .malformedURL(let url): "malformed database URL: \(url) (expected postgres://… or sqlite://PATH)"
        case .unreachable(let detail): "database unreachable: \(detail)"
        case .schemaTooNew(let found, let supported):
            "database schema version \(found) is newer than this binary supports (\(supported)); upgrade kura"
        case .schemaTooOld(let found, let supported):
            "database schema version \(found) is older than \(supported); run `kura db migrate`"
        case .constraintViolation(let detail): "constraint violated, nothing applied: \(detail)"
        case .retriesExhausted(let attempts, let last): "transaction failed after \(attempts) attempts: \(last)"
        case .ambiguousCommit(let detail): "commit outcome unknown (not retried, not idempotent): \(detail)"
        case .backend(let detail): "database error: \(detail)"
        }
    }
}

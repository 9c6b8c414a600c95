// What the consensus log carries: commands whose every input is inside the entry, and the outcome
// each one had. A rejected command (a name taken, a stale epoch) is a normal, deterministic outcome
// that consumes its log index; only a broken database is an error.

public enum Command: Hashable, Sendable {
    case createUser(User)
    case createAsset(Asset)
    /// Appends version head+1 and makes it the head; drops the upload's pin, if any.
    case publishVersion(assetID: ID, versionID: ID, indexDigest: [UInt8], contentSize: Int64, chunkCount: Int,
        createdBy: ID, createdUs: Int64, pinID: ID?)
    case retractVersion(assetID: ID, versionNo: Int)
    case addPin(Pin)
    case removePin(ID)
    case spawnEntity(PersistentEntity)
    /// Compare-and-set on the fencing epoch: succeeds only if the stored epoch is `expectedEpoch`.
    case transferAuthority(scopeID: ID, entityID: ID, expectedEpoch: Int64, kind: AuthorityKind, authorityID: ID?,
        updatedUs: Int64)
    /// Upserts the instance and bumps its epoch.
    case registerInstance(Instance)
}

public struct LogEntry: Hashable, Sendable {
    public var index: Int64
    public var term: Int64
    /// Set when a client may propose the same request twice (a retry after a leader change).
    public var requestID: ID?
    /// Leader time in microseconds, the only clock the state machine sees.
    public var timeUs: Int64
    public var command: Command

    public init(index: Int64, term: Int64, requestID: ID?, timeUs: Int64, command: Command) {
        self.index = index
        self.term = term
        self.requestID = requestID
        self.timeUs = timeUs
        self.command = command
    }
}

public enum Outcome: Hashable, Sendable {
    case ok
    /// A deterministic refusal: `usernameTaken`, `unknownOwner`, `staleEpoch`, ...
    case rejected(String)

    public var code: String {
        switch self {
        case .ok: "ok"
        case .rejected(let reason): reason
        }
    }

    public init(code: String) { self = code == "ok" ? .ok : .rejected(code) }
}

public struct ApplyState: Hashable, Sendable {
    public var appliedIndex: Int64
    public var appliedTerm: Int64
    public init(appliedIndex: Int64, appliedTerm: Int64) {
        self.appliedIndex = appliedIndex
        self.appliedTerm = appliedTerm
    }
}

/// What one `apply` call did: entries newly applied, entries skipped as already applied, and
/// entries whose request id had been applied before (effects skipped, index consumed).
public struct ApplyReport: Hashable, Sendable {
    public var applied = 0
    public var alreadyApplied = 0
    public var duplicateRequests = 0
    public init() {}
}

/// A write-behind snapshot of an entity's state. Written without the log, so it is guarded by the
/// row itself: it lands only if the epoch matches (or the row is new) and the sequence is newer.
public struct EntityCheckpoint: Hashable, Sendable {
    public var scopeID: ID
    public var entityID: ID
    public var authorityEpoch: Int64
    public var stateSeq: Int64
    public var state: [UInt8]
    public var updatedUs: Int64

    public init(scopeID: ID, entityID: ID, authorityEpoch: Int64, stateSeq: Int64, state: [UInt8], updatedUs: Int64) {
        self.scopeID = scopeID
        self.entityID = entityID
        self.authorityEpoch = authorityEpoch
        self.stateSeq = stateSeq
        self.state = state
        self.updatedUs = updatedUs
    }
}

/// Every row of the domain tables in a canonical order: what tests compare across backends.
public struct GlobalContents: Hashable, Sendable {
    public var users: [User] = []
    public var assets: [Asset] = []
    public var versions: [AssetVersion] = []
    public var pins: [Pin] = []
    public var entities: [PersistentEntity] = []
    public var instances: [Instance] = []
    public var requests: [ID: String] = [:]
    public init() {}

    public mutating func sort() {
        users.sort { $0.id < $1.id }
        assets.sort { $0.id < $1.id }
        versions.sort { ($0.assetID, $0.versionNo) < ($1.assetID, $1.versionNo) }
        pins.sort { $0.id < $1.id }
        entities.sort { ($0.scopeID, $0.entityID) < ($1.scopeID, $1.entityID) }
        instances.sort { $0.id < $1.id }
    }
}

/// Keeps one checkpoint per entity, the one with the highest sequence (the last of equals): a
/// multi-row upsert may touch each row once, and older snapshots would be discarded anyway.
public func coalesce(_ checkpoints: [EntityCheckpoint]) -> [EntityCheckpoint] {
    struct Key: Hashable {
        var scope: ID
        var entity: ID
    }
    var latest = [Key: Int](minimumCapacity: checkpoints.count)
    for (i, c) in checkpoints.enumerated() {
        let key = Key(scope: c.scopeID, entity: c.entityID)
        if let j = latest[key], checkpoints[j].stateSeq > c.stateSeq { continue }
        latest[key] = i
    }
    return latest.values.sorted().map { checkpoints[$0] }
}

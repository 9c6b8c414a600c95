// The one output of a replica: everything it needs done, in one batch.

/// A batch of work for the application, taken with `Replica.ready()` and acknowledged with
/// `Replica.advance(_:)`. Batching is the performance lever: one fsync covers every entry here.
///
/// **The ordering obligations** (break one and safety is lost; each is why-annotated):
/// 1. Persist `snapshot` (if any), then `entries`, then `hardState`, durably (fsync), *before*
///    sending any message: a vote or an append acknowledgement promises that the state behind it
///    survives a crash. Appending `entries` first truncates any stored entries at or after
///    `entries.first.index` (they conflict with the leader's log).
///    If storage can lose a suffix of a write at a crash (a torn write-ahead log tail), the term
///    and vote of `hardState` must be durable no later than the snapshot and entries (else a log
///    could hold entries of a term newer than its current term), and the commit index no earlier
///    (else it could point beyond the stored log, at entries that were never written).
/// 2. Install `snapshot` into the state machine before applying `committedEntries`: they follow it.
/// 3. Send `messages` (any order, any transport; loss and duplication are tolerated).
/// 4. Apply `committedEntries` in order. They are committed, and durable once step 1 is done.
/// 5. Answer `readStates` once the state machine has applied at least `ReadState.index`.
/// 6. Make the replica's storage reflect steps 1 (the `RaftLogReader` must now return what was
///    persisted), then call `advance` with this same value. Do not call `ready()` again before.
public struct Ready: Sendable {
    /// New hard state to persist, or nil when unchanged since the last Ready.
    public var hardState: HardState?
    /// A snapshot received from the leader, to persist and install.
    public var snapshot: Snapshot?
    /// Entries to append to stable storage.
    public var entries: [Entry]
    /// Messages to send once the above is durable.
    public var messages: [Message]
    /// Committed entries to apply to the state machine, in log order.
    public var committedEntries: [Entry]
    /// ReadIndex requests confirmed by a quorum.
    public var readStates: [ReadState]
    /// Role and known leader, when they changed (volatile: never persisted).
    public var softState: SoftState?

    public var isEmpty: Bool {
        hardState == nil && snapshot == nil && entries.isEmpty && messages.isEmpty
            && committedEntries.isEmpty && readStates.isEmpty && softState == nil
    }
    /// Whether step 1 needs an fsync at all.
    public var mustSync: Bool { hardState != nil || snapshot != nil || !entries.isEmpty }
}

/// A linearizable read: serve it once the state machine has applied `index`.
public struct ReadState: Hashable, Sendable {
    public var index: LogIndex
    public var context: UInt64
    public init(index: LogIndex, context: UInt64) {
        self.index = index
        self.context = context
    }
}

public enum Role: String, Hashable, Sendable {
    case follower, preCandidate = "pre-candidate", candidate, leader
}

public struct SoftState: Hashable, Sendable {
    public var role: Role
    public var leader: ReplicaID?
}

/// Typed reasons a request is refused; the caller decides what to do (retry elsewhere, wait).
public enum ProposalError: Error, Hashable, Sendable {
    /// Only the leader accepts proposals; the hint is the leader this replica last heard from.
    case notLeader(leaderHint: ReplicaID?)
    /// Proposals are paused while leadership is handed over.
    case transferInProgress
    /// One membership change at a time, and only after the leader committed an entry of its term.
    case configurationChangePending
    case invalidConfiguration(ConfigurationError)
    /// The uncommitted tail is over `RaftConfig.uncommittedBytesMax`: back off.
    case overloaded
    /// A ReadIndex before the leader has committed an entry of its term would read stale data.
    case leaderNotReady
    case transferTargetInvalid
}

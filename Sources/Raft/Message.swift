// What replicas say to each other. Every message carries its sender's term; the rules for terms
// (§5.1: a higher term makes the receiver a follower, a lower one is stale) live in Replica.step.

public struct Message: Hashable, Sendable, CustomStringConvertible {
    public var from: ReplicaID
    public var to: ReplicaID
    /// The sender's term; for a pre-vote and a granted pre-vote response, the term the
    /// pre-candidate would campaign in (the receiver's term is not changed by either).
    public var term: Term
    public var kind: Kind

    public init(from: ReplicaID, to: ReplicaID, term: Term, kind: Kind) {
        self.from = from
        self.to = to
        self.term = term
        self.kind = kind
    }

    public enum Kind: Hashable, Sendable {
        /// Thesis §9.6: "would you vote for me?", asked without disturbing anyone's term.
        case preVote(lastIndex: LogIndex, lastTerm: Term)
        case preVoteResponse(granted: Bool)
        /// RequestVote. `transfer` marks a campaign started by `timeoutNow`, which voters honour
        /// even while they believe in a live leader (check-quorum's lease).
        case vote(lastIndex: LogIndex, lastTerm: Term, transfer: Bool)
        case voteResponse(granted: Bool)
        /// AppendEntries; `entries` is bounded by `RaftConfig.appendBytesMax`.
        case append(prevIndex: LogIndex, prevTerm: Term, entries: [Entry], commit: LogIndex)
        case appendResponse(AppendResult)
        /// Leader liveness plus, when a ReadIndex round is open, its context to echo back.
        case heartbeat(commit: LogIndex, readContext: UInt64?)
        case heartbeatResponse(readContext: UInt64?)
        /// One chunk of a snapshot, sent in order; the last chunk has `done`.
        case snapshotChunk(metadata: SnapshotMetadata, offset: Int, data: [UInt8], done: Bool)
        /// Acknowledges chunks: the byte offset the receiver expects next.
        case snapshotChunkResponse(snapshotIndex: LogIndex, nextOffset: Int)
        /// Leadership transfer: "campaign now".
        case timeoutNow
    }

    public enum AppendResult: Hashable, Sendable {
        /// The receiver's log matches the leader's through `matchIndex` (and it is durable).
        case success(matchIndex: LogIndex)
        /// The receiver has no entry at `rejectedIndex` with the expected term. `hintIndex` and
        /// `hintTerm` name the last entry it has at or below that index whose term is ≤ the
        /// leader's, so the leader can skip a whole term of mismatch in one round trip.
        case reject(rejectedIndex: LogIndex, hintIndex: LogIndex, hintTerm: Term)
    }

    public var description: String {
        "\(from)->\(to) term=\(term) " + kindDescription
    }

    var kindDescription: String {
        switch kind {
        case .preVote(let i, let t): return "pre-vote last=\(i)@\(t)"
        case .preVoteResponse(let g): return g ? "pre-vote-granted" : "pre-vote-rejected"
        case .vote(let i, let t, let transfer): return "vote last=\(i)@\(t)" + (transfer ? " transfer" : "")
        case .voteResponse(let g): return g ? "vote-granted" : "vote-rejected"
        case .append(let pi, let pt, let entries, let c):
            let list = entries.map(\.description).joined(separator: ", ")
            return "append prev=\(pi)@\(pt) commit=\(c) entries=[\(list)]"
        case .appendResponse(.success(let m)): return "append-ok match=\(m)"
        case .appendResponse(.reject(let r, let hi, let ht)): return "append-reject index=\(r) hint=\(hi)@\(ht)"
        case .heartbeat(let c, let ctx): return "heartbeat commit=\(c)" + (ctx.map { " read=\($0)" } ?? "")
        case .heartbeatResponse(let ctx): return "heartbeat-ok" + (ctx.map { " read=\($0)" } ?? "")
        case .snapshotChunk(let m, let o, let d, let done):
            return "snapshot \(m.index)@\(m.term) offset=\(o) bytes=\(d.count)" + (done ? " done" : "")
        case .snapshotChunkResponse(let i, let o): return "snapshot-ok \(i) next=\(o)"
        case .timeoutNow: return "timeout-now"
        }
    }
}

/// Persistent state that must reach stable storage before any message that depends on it is
/// sent (Figure 2: currentTerm, votedFor; we also keep the commit index, as etcd does).
public struct HardState: Hashable, Sendable, CustomStringConvertible {
    public var term: Term
    public var vote: ReplicaID?
    public var commit: LogIndex
    public init(term: Term = 0, vote: ReplicaID? = nil, commit: LogIndex = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
    public var description: String { "term=\(term) vote=\(vote.map(\.description) ?? "-") commit=\(commit)" }
}

/// Where a snapshot sits in the log and which configuration was in force there.
public struct SnapshotMetadata: Hashable, Sendable, CustomStringConvertible {
    public var index: LogIndex
    public var term: Term
    public var configuration: Configuration
    public init(index: LogIndex, term: Term, configuration: Configuration) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }
    public var description: String { "\(index)@\(term) \(configuration)" }
}

/// The state machine's image at `metadata.index`, produced by the application.
public struct Snapshot: Hashable, Sendable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]
    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}

// Tunables of a replica. Ticks are abstract: the shell decides how long one is.

public struct RaftConfig: Sendable {
    /// Ticks without hearing from a leader before a follower campaigns; the actual timeout is
    /// drawn from `electionTicks..<2*electionTicks` at every reset.
    public var electionTicks: Int = 10
    /// Ticks between leader heartbeats. Must be well below `electionTicks`.
    public var heartbeatTicks: Int = 1
    /// Thesis §9.6: a dry-run election first, so a replica that cannot win does not bump terms.
    public var preVote: Bool = true
    /// A leader steps down when it has not heard from a quorum for an election timeout, and a
    /// follower that hears from a leader ignores vote requests for that long (the "lease").
    public var checkQuorum: Bool = true
    /// Maximum payload of one append message; at least one entry is always sent.
    public var appendBytesMax: Int = 64 * 1024
    /// Append messages in flight to one follower in the replicate state (the pipeline window).
    public var inflightMessagesMax: Int = 64
    /// Bytes of a snapshot sent in one chunk.
    public var snapshotChunkBytes: Int = 16 * 1024
    /// Committed entries handed out in one Ready (at least one if any is due).
    public var committedBytesMaxPerReady: Int = 1 << 20
    /// Proposals fail with `.overloaded` while the leader's uncommitted tail exceeds this.
    public var uncommittedBytesMax: Int = 8 << 20
    /// Seed of the replica's private generator (election timeouts). Give every replica its own.
    public var seed: UInt64 = 0

    /// TEST ONLY. Plants a known safety bug so tests can prove the simulator catches it.
    /// Never set outside tests.
    public var plantedBug: PlantedBug? = nil

    public enum PlantedBug: String, Sendable, CaseIterable {
        /// Commits by counting replicas of an entry from an earlier term (the Figure 8 bug).
        case commitPreviousTermEntries = "commit-previous-term"
        /// Grants a vote to every candidate of a term, not just the first.
        case voteTwiceInOneTerm = "vote-twice"
    }

    public init() {}

    func validate() {
        precondition(electionTicks > 1 && heartbeatTicks >= 1 && heartbeatTicks < electionTicks)
        precondition(appendBytesMax > 0 && inflightMessagesMax > 0 && snapshotChunkBytes > 0)
        precondition(committedBytesMaxPerReady > 0 && uncommittedBytesMax > 0)
    }
}

// ReadIndex (thesis §6.4): a linearizable read without a log entry. The leader records its
// commit index, confirms with a heartbeat round that a quorum still follows it (so no newer
// leader can have committed anything), and then the read may be served once the state machine
// has applied that index.

extension Replica {
    /// Starts a linearizable read identified by `context` (unique per request). A `ReadState`
    /// with the same context appears in a later Ready once leadership is confirmed.
    public mutating func readIndex(context: UInt64) throws(ProposalError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        // Until an entry of this term is committed, our commit index may lag the previous
        // leader's, and a read at it could miss a committed write.
        guard log.term(at: log.committed) == term else { throw .leaderNotReady }
        if configuration.voters == [id] {
            readStates.append(ReadState(index: log.committed, context: context))
            return
        }
        pendingReads.append(PendingRead(context: context, index: log.committed, acks: [id]))
        broadcastHeartbeat(readContext: context)
    }

    /// A heartbeat answer echoing `context`: one more voter follows us. When a quorum has
    /// acknowledged, that read and every read started before it are confirmed.
    mutating func acknowledgeRead(_ context: UInt64, from member: ReplicaID) {
        guard configuration.isVoter(member), let position = pendingReads.firstIndex(where: { $0.context == context })
        else { return }
        if !pendingReads[position].acks.contains(member) { pendingReads[position].acks.append(member) }
        let acks = pendingReads[position].acks.filter { configuration.isVoter($0) }.count
        guard acks >= configuration.quorum else { return }
        for read in pendingReads[...position] { readStates.append(ReadState(index: read.index, context: read.context)) }
        pendingReads.removeSubrange(...position)
    }
}

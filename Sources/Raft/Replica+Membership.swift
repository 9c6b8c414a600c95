// Single-server membership changes (thesis chapter 4) with non-voting learners, and leadership
// transfer (thesis §3.10).
//
// A configuration takes effect as soon as its entry is appended, on every replica (thesis §4.1);
// a truncated configuration entry reverts it. Two guards keep single-server changes safe:
//   - one change at a time: no new change while the last configuration entry is uncommitted;
//   - a new leader must first commit an entry of its own term (the no-op it appends on
//     election) — without this, a change proposed by one leader and a change proposed by its
//     successor can produce two disjoint majorities (Ongaro, raft-dev, "bug in single-server
//     membership changes", 2015).

extension Replica {
    /// Proposes a membership change. Returns the index of its entry.
    @discardableResult
    public mutating func proposeConfigurationChange(_ change: ConfigurationChange) throws(ProposalError) -> LogIndex {
        try checkCanPropose()
        guard configurations[configurations.count - 1].index <= log.committed, log.term(at: log.committed) == term
        else { throw .configurationChangePending }
        switch configuration.applying(change) {
        case .failure(let error): throw .invalidConfiguration(error)
        case .success: break
        }
        return appendAsLeader([.configuration(change)]).lowerBound
    }

    /// Hands leadership to `target`, a voter: once its log is up to date it is told to campaign
    /// at once. Proposals are refused meanwhile; the transfer is abandoned after an election
    /// timeout.
    public mutating func transferLeadership(to target: ReplicaID) throws(ProposalError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard target != id, configuration.isVoter(target), progress[target] != nil else {
            throw .transferTargetInvalid
        }
        if transferTarget == target { return }
        transferTarget = target
        electionElapsed = 0
        if progress[target]!.match == log.lastIndex {
            send(target, .timeoutNow)
        } else {
            sendAppend(to: target, evenIfEmpty: true)
        }
    }

    /// The configuration in force changed (an entry appended or truncated, or a snapshot).
    mutating func configurationChanged() {
        guard role == .leader else { return }
        let members = configuration.members
        for member in members where progress[member] == nil {
            var p = Progress(next: log.lastIndex.next)
            p.recentActive = true
            progress[member] = p
        }
        for member in progress.keys.sorted() where !members.contains(member) && member != id {
            progress[member] = nil
        }
        if let target = transferTarget, !configuration.isVoter(target) { transferTarget = nil }
        // Fewer voters may mean a smaller quorum that is already satisfied.
        if maybeCommit() { broadcastPending = true }
    }
}

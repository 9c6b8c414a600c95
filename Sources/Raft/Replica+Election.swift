// Elections (§5.2), pre-vote (thesis §9.6), check-quorum and its lease (thesis §6.2, §9.6), and
// the term rules every message goes through first.

extension Replica {
    /// Whether this replica may campaign: a voter not in the middle of installing a snapshot.
    var isPromotable: Bool { configuration.isVoter(id) && log.unstableSnapshot == nil }

    /// Check-quorum's lease: a follower that heard from a leader within the election timeout
    /// believes it alive and ignores vote requests, so a partitioned rejoiner cannot depose it.
    var inLease: Bool { config.checkQuorum && leader != nil && electionElapsed < config.electionTicks }

    mutating func tickElection() {
        electionElapsed += 1
        guard isPromotable, electionElapsed >= electionTimeout else { return }
        campaign(preVote: config.preVote, transfer: false)
    }

    mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTicks {
            electionElapsed = 0
            if config.checkQuorum {
                let active = configuration.voters.filter { $0 == id || progress[$0]?.recentActive == true }
                if active.count < configuration.quorum {
                    becomeFollower(term: term, leader: nil)
                    return
                }
                for member in peers { progress[member]?.recentActive = false }
            }
            transferTarget = nil  // a transfer that did not finish within an election timeout is abandoned
        }
        guard role == .leader else { return }
        for member in peers where progress[member]?.state == .snapshot {
            progress[member]!.snapshotIdle += 1
            if progress[member]!.snapshotIdle >= 3 * config.heartbeatTicks { sendSnapshotChunk(to: member) }
        }
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat(readContext: pendingReads.last?.context)
        }
    }

    /// Starts a (pre-)election.
    mutating func campaign(preVote: Bool, transfer: Bool) {
        precondition(isPromotable, "campaign by a replica that cannot be elected")
        if preVote {
            role = .preCandidate
            leader = nil
            resetElectionTimeout()
        } else {
            becomeCandidate()
        }
        votes = [id: true]
        if tallyVotes() { return }
        let kind: Message.Kind = preVote
            ? .preVote(lastIndex: log.lastIndex, lastTerm: log.lastTerm)
            : .vote(lastIndex: log.lastIndex, lastTerm: log.lastTerm, transfer: transfer)
        for voter in configuration.voters where voter != id {
            send(voter, kind, term: preVote ? term.next : term)
        }
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "a leader does not campaign")
        term = term.next
        vote = id
        role = .candidate
        leader = nil
        resetElectionTimeout()
    }

    mutating func becomeFollower(term newTerm: Term, leader newLeader: ReplicaID?) {
        precondition(newTerm >= term, "terms never go back")
        if newTerm > term {
            term = newTerm
            vote = nil
        }
        role = .follower
        leader = newLeader
        resetElectionTimeout()
        votes = [:]
        progress = [:]
        transferTarget = nil
        pendingReads = []
        uncommitted = []
        uncommittedBytes = 0
        broadcastPending = false
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "only a candidate becomes leader")
        role = .leader
        leader = id
        resetElectionTimeout()
        progress = [:]
        for member in configuration.members { progress[member] = Progress(next: log.lastIndex.next) }
        // Our own copy counts once durable: what storage holds of our log now.
        progress[id]!.match = persistedIndex
        progress[id]!.becomeReplicate()
        for member in configuration.members where member != id { progress[member]!.recentActive = true }
        // §8: an entry of the new term, so the leader learns what is committed and can commit it.
        _ = appendAsLeader([.empty])
    }

    /// The last index of our log that is already in stable storage.
    var persistedIndex: LogIndex {
        if log.unstableSnapshot != nil { return 0 }
        return min(log.lastIndex, log.unstableOffset.previous)
    }

    /// Counts votes; wins or loses when decided. Returns whether the campaign ended.
    @discardableResult
    mutating func tallyVotes() -> Bool {
        let granted = configuration.voters.filter { votes[$0] == true }.count
        let rejected = configuration.voters.filter { votes[$0] == false }.count
        if granted >= configuration.quorum {
            if role == .preCandidate { campaign(preVote: false, transfer: false) } else { becomeLeader() }
            return true
        }
        if rejected > configuration.voters.count - configuration.quorum {
            becomeFollower(term: term, leader: nil)
            return true
        }
        return false
    }

    /// Applies the term rules. Returns false when the message must be dropped.
    mutating func checkTerm(of m: Message) -> Bool {
        if m.term > term {
            switch m.kind {
            case .preVote:
                return true  // a pre-vote never changes our term
            case .preVoteResponse(granted: true):
                return true  // carries the term the pre-candidate will use, not a newer leader's
            case .vote(_, _, let transfer):
                if inLease && !transfer { return false }
                becomeFollower(term: m.term, leader: nil)
            case .append, .heartbeat, .snapshotChunk:
                becomeFollower(term: m.term, leader: m.from)
            default:
                becomeFollower(term: m.term, leader: nil)
            }
            return true
        }
        if m.term < term {
            switch m.kind {
            case .append, .heartbeat, .snapshotChunk:
                // A stale leader (cut off, then healed) learns our term and steps down; without
                // this it could keep a pre-vote-using group from ever electing anyone new.
                if config.checkQuorum || config.preVote { send(m.from, .heartbeatResponse(readContext: nil)) }
            case .preVote:
                send(m.from, .preVoteResponse(granted: false))
            default:
                break
            }
            return false
        }
        return true
    }

    mutating func dispatch(_ m: Message) {
        switch m.kind {
        case .preVote(let lastIndex, let lastTerm):
            handlePreVote(m, lastIndex: lastIndex, lastTerm: lastTerm)
        case .vote(let lastIndex, let lastTerm, _):
            handleVote(m, lastIndex: lastIndex, lastTerm: lastTerm)
        case .preVoteResponse(let granted):
            guard role == .preCandidate, granted ? m.term == term.next : true else { return }
            votes[m.from] = granted
            tallyVotes()
        case .voteResponse(let granted):
            guard role == .candidate else { return }
            votes[m.from] = granted
            tallyVotes()
        case .append(let prevIndex, let prevTerm, let entries, let commit):
            guard followLeader(m) else { return }
            handleAppend(from: m.from, prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commit)
        case .heartbeat(let commit, let context):
            guard followLeader(m) else { return }
            log.commit(to: min(commit, log.lastIndex))
            send(m.from, .heartbeatResponse(readContext: context))
        case .snapshotChunk(let metadata, let offset, let data, let done):
            guard followLeader(m) else { return }
            handleSnapshotChunk(from: m.from, metadata: metadata, offset: offset, data: data, done: done)
        case .appendResponse(let result):
            guard role == .leader else { return }
            handleAppendResponse(from: m.from, result)
        case .heartbeatResponse(let context):
            guard role == .leader else { return }
            handleHeartbeatResponse(from: m.from, readContext: context)
        case .snapshotChunkResponse(let index, let offset):
            guard role == .leader else { return }
            handleSnapshotChunkResponse(from: m.from, snapshotIndex: index, nextOffset: offset)
        case .timeoutNow:
            guard role == .follower, isPromotable else { return }
            campaign(preVote: false, transfer: true)
        }
    }

    /// A message from the leader of our term: follow it. Returns false if we are that leader's
    /// rival leader, which would mean two leaders in one term (the simulator reports that).
    mutating func followLeader(_ m: Message) -> Bool {
        if role == .leader { return false }
        if role != .follower || leader != m.from { becomeFollower(term: term, leader: m.from) }
        electionElapsed = 0
        return true
    }

    mutating func handlePreVote(_ m: Message, lastIndex: LogIndex, lastTerm: Term) {
        if m.term > term && inLease { return }
        let grant = m.term > term && log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm)
        send(m.from, .preVoteResponse(granted: grant), term: grant ? m.term : term)
    }

    mutating func handleVote(_ m: Message, lastIndex: LogIndex, lastTerm: Term) {
        let free = vote == m.from || (vote == nil && leader == nil)
        let canVote = free || config.plantedBug == .voteTwiceInOneTerm
        if canVote && log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm) {
            vote = m.from
            electionElapsed = 0
            send(m.from, .voteResponse(granted: true))
        } else {
            send(m.from, .voteResponse(granted: false))
        }
    }
}

extension Replica {
    /// Starts an election now (with a pre-vote first when configured), as if the election timer
    /// had fired. Used to kick a new group and by tests; a leader or non-voter ignores it.
    public mutating func campaign() {
        guard role != .leader, isPromotable else { return }
        campaign(preVote: config.preVote, transfer: false)
    }
}

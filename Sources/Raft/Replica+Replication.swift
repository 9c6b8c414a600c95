// Log replication (§5.3) with etcd's flow control: probe, then pipelined appends in a bounded
// window of size-bounded batches; and the commit rule (§5.4.2): only entries of the current term
// are committed by counting replicas.

extension Replica {
    // MARK: leader

    /// Sends owed appends to every follower that can take one (batched per Ready).
    mutating func flushBroadcast() {
        guard broadcastPending, role == .leader else {
            broadcastPending = false
            return
        }
        broadcastPending = false
        for member in peers { sendAppend(to: member, evenIfEmpty: true) }
    }

    /// Sends one append to `member` if flow control allows. Returns whether one was sent.
    @discardableResult
    mutating func sendAppend(to member: ReplicaID, evenIfEmpty: Bool) -> Bool {
        guard var p = progress[member], !p.isPaused(window: config.inflightMessagesMax) else { return false }
        let prevIndex = p.next.previous
        guard let prevTerm = log.term(at: prevIndex),
            let entries = try? log.entries(p.next..<log.lastIndex.next, bytesMax: config.appendBytesMax)
        else {
            return sendSnapshot(to: member)
        }
        // An empty append carries only the commit index (or probes where the logs match).
        if entries.isEmpty && !evenIfEmpty { return false }
        switch p.state {
        case .replicate:
            if let last = entries.last {
                p.next = last.index.next
                p.inflights.append(last.index)
            }
        case .probe:
            p.probeSent = true
        case .snapshot:
            preconditionFailure("append to a follower in snapshot state")
        }
        progress[member] = p
        send(member, .append(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: log.committed))
        return true
    }

    /// An append with no entries at `next`, outside flow control.
    mutating func sendEmptyAppend(to member: ReplicaID) {
        guard let p = progress[member] else { return }
        guard let prevTerm = log.term(at: p.next.previous) else {
            // The log was compacted past `next` while the window was full (the follower was down
            // while we snapshotted): its match is below our first entry, so only a snapshot helps.
            // Without this the follower would answer heartbeats forever and never catch up.
            _ = sendSnapshot(to: member)
            return
        }
        send(member, .append(prevIndex: p.next.previous, prevTerm: prevTerm, entries: [], commit: log.committed))
    }

    mutating func broadcastHeartbeat(readContext: UInt64?) {
        for member in peers {
            let match = progress[member]?.match ?? 0
            send(member, .heartbeat(commit: min(match, log.committed), readContext: readContext))
        }
    }

    mutating func handleAppendResponse(from member: ReplicaID, _ result: Message.AppendResult) {
        guard var p = progress[member] else { return }
        p.recentActive = true
        switch result {
        case .reject(let rejected, let hintIndex, let hintTerm):
            var hint = hintIndex
            if hintTerm > 0 { hint = log.lastIndex(atOrBelow: hintIndex, withTermAtMost: hintTerm).0 }
            if p.state == .snapshot { progress[member] = p; return }
            if p.decrease(rejected: rejected, hint: hint) {
                if p.state == .replicate { p.becomeProbe() }
                progress[member] = p
                sendAppend(to: member, evenIfEmpty: true)
            } else {
                progress[member] = p
            }
        case .success(let index):
            precondition(index <= log.lastIndex, "follower \(member) acknowledged \(index) beyond our log")
            if p.state == .snapshot, let s = p.snapshot, index < s.metadata.index {
                // An old acknowledgement (duplicated or delayed); the snapshot is still needed.
                progress[member] = p
                return
            }
            let moved = p.update(match: index)
            // A probe answered at the match we already knew (the follower was up to date) also
            // proves where the logs agree: pipeline from there instead of waiting for a heartbeat.
            if moved || p.state == .snapshot || (p.state == .probe && index == p.match) {
                switch p.state {
                case .probe: p.becomeReplicate()
                case .snapshot:
                    // Installed (or found unnecessary): probe from what it has, then pipeline.
                    p.becomeProbe()
                    if p.match.next >= log.firstIndex { p.becomeReplicate() }
                case .replicate: break
                }
            }
            progress[member] = p
            if moved && maybeCommit() {
                broadcastPending = true
            }
            while sendAppend(to: member, evenIfEmpty: false) {}
            if member == transferTarget, progress[member]?.match == log.lastIndex {
                send(member, .timeoutNow)
            }
        }
    }

    mutating func handleHeartbeatResponse(from member: ReplicaID, readContext: UInt64?) {
        guard var p = progress[member] else { return }
        p.recentActive = true
        p.probeSent = false
        progress[member] = p
        if p.match < log.lastIndex {
            if p.state == .replicate && p.isPaused(window: config.inflightMessagesMax) {
                // The window is full: perhaps every append in it was lost. An empty append at
                // `next` finds out — the follower accepts it if nothing was lost and rejects it
                // otherwise, which sends us back to probing (etcd does the same).
                sendEmptyAppend(to: member)
            } else {
                sendAppend(to: member, evenIfEmpty: true)
            }
        }
        if let context = readContext { acknowledgeRead(context, from: member) }
    }

    /// Advances the commit index to the highest index durable on a quorum of voters, if that
    /// entry is of the current term (§5.4.2). Returns whether it moved.
    mutating func maybeCommit() -> Bool {
        let matches = configuration.voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        guard !matches.isEmpty else { return false }
        let index = matches[configuration.quorum - 1]
        guard index > log.committed else { return false }
        let ofCurrentTerm = log.term(at: index) == term
        guard ofCurrentTerm || config.plantedBug == .commitPreviousTermEntries else { return false }
        log.commit(to: index)
        committed()
        return true
    }

    /// Bookkeeping after the commit index moved on the leader.
    mutating func committed() {
        while let first = uncommitted.first, first.index <= log.committed {
            uncommittedBytes -= first.bytes
            uncommitted.removeFirst()
        }
        // Thesis §4.2.2: a leader removed from the configuration keeps managing the group until
        // the entry removing it is committed, then steps down.
        if !configuration.isVoter(id), configurations[configurations.count - 1].index <= log.committed {
            for member in peers { sendAppend(to: member, evenIfEmpty: true) }  // tell them the commit
            becomeFollower(term: term, leader: nil)
        }
    }

    // MARK: follower

    mutating func handleAppend(
        from leaderID: ReplicaID, prevIndex: LogIndex, prevTerm: Term, entries: [Entry], commit: LogIndex
    ) {
        if prevIndex < log.committed {
            // Everything up to our commit index matches any leader's log; say so, and the
            // leader continues from there (the rest of this message may be stale).
            send(leaderID, .appendResponse(.success(matchIndex: log.committed)))
            return
        }
        guard log.matches(prevIndex, prevTerm) else {
            let (hintIndex, hintTerm) = log.lastIndex(atOrBelow: prevIndex, withTermAtMost: prevTerm)
            send(leaderID, .appendResponse(.reject(rejectedIndex: prevIndex, hintIndex: hintIndex, hintTerm: hintTerm)))
            return
        }
        if let conflict = entries.firstIndex(where: { !log.matches($0.index, $0.term) }) {
            appendToLog(Array(entries[conflict...]))
        }
        let lastNew = prevIndex.advanced(by: entries.count)
        log.commit(to: min(commit, lastNew))
        send(leaderID, .appendResponse(.success(matchIndex: lastNew)))
    }
}

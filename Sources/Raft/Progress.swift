// The leader's view of one follower (etcd's tracker.Progress), and the flow control around it.
//
//   probe      one append in flight at a time, until a response shows where the logs match;
//   replicate  appends pipelined optimistically, at most `inflightMessagesMax` unacknowledged;
//   snapshot   nothing but snapshot chunks until the follower installed the snapshot.

struct Progress: Sendable {
    enum State: String, Sendable { case probe, replicate, snapshot }

    /// Highest index known to match the leader's log (and be durable on the follower).
    var match: LogIndex = 0
    /// Next index to send.
    var next: LogIndex
    var state: State = .probe
    /// In probe: an append is outstanding; wait for its answer or a heartbeat response.
    var probeSent = false
    /// Last index of each append in flight (replicate state), oldest first.
    var inflights: [LogIndex] = []
    /// Heard from since the last check-quorum round.
    var recentActive = false
    /// In snapshot: the snapshot being sent and the next byte offset.
    var snapshot: Snapshot?
    var snapshotOffset = 0
    /// Ticks since the last chunk was sent (a lost chunk is resent after a heartbeat interval).
    var snapshotIdle = 0

    init(next: LogIndex) { self.next = next }

    mutating func becomeProbe() {
        if state == .snapshot, let s = snapshot {
            next = max(match.next, s.metadata.index.next)
        } else {
            next = match.next
        }
        state = .probe
        probeSent = false
        inflights = []
        snapshot = nil
        snapshotOffset = 0
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match.next
        probeSent = false
        inflights = []
        snapshot = nil
    }

    mutating func becomeSnapshot(_ snapshot: Snapshot) {
        state = .snapshot
        self.snapshot = snapshot
        snapshotOffset = 0
        snapshotIdle = 0
        inflights = []
        probeSent = false
    }

    func isPaused(window: Int) -> Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflights.count >= window
        case .snapshot: return true
        }
    }

    /// A success response: returns whether `match` moved.
    mutating func update(match index: LogIndex) -> Bool {
        var moved = false
        if index > match {
            match = index
            moved = true
            probeSent = false
        }
        next = max(next, index.next)
        inflights.removeAll { $0 <= index }
        return moved
    }

    /// A rejection of the append at `rejected`; `hint` is the highest index that may match.
    /// Returns false for a stale rejection (it answers an append we no longer care about).
    mutating func decrease(rejected: LogIndex, hint: LogIndex) -> Bool {
        if state == .replicate {
            if rejected <= match { return false }
            next = match.next
            return true
        }
        if next.previous != rejected { return false }
        next = max(min(rejected, hint.next), match.next)
        probeSent = false
        return true
    }
}

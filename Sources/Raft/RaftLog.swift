// The replica's log: stable storage (read through `RaftLogReader`) plus an in-memory "unstable"
// tail that the application has not yet persisted (etcd's raftLog + unstable, merged).

struct RaftLog<Log: RaftLogReader>: Sendable {
    var storage: Log
    /// A snapshot from the leader that is not yet persisted; it supersedes storage below it.
    var unstableSnapshot: Snapshot?
    /// Entries not yet persisted, starting at `unstableOffset`. They may overwrite stored ones.
    var unstable: [Entry] = []
    var unstableOffset: LogIndex
    /// Highest index known committed.
    var committed: LogIndex
    /// Highest index handed to the application for applying (in a Ready not yet advanced, or done).
    var applying: LogIndex
    /// Highest index the application has applied (acknowledged through advance).
    var applied: LogIndex

    init(storage: Log) {
        self.storage = storage
        self.unstableOffset = storage.lastIndex.next
        let snapshotIndex = (try? storage.snapshot().metadata.index) ?? storage.firstIndex.previous
        // After a restart the state machine is rebuilt from the snapshot and replays the rest.
        self.applied = snapshotIndex
        self.applying = snapshotIndex
        self.committed = max(storage.hardState.commit, snapshotIndex)
        precondition(committed <= storage.lastIndex, "stored commit \(committed) beyond stored log \(storage.lastIndex)")
    }

    var firstIndex: LogIndex {
        if let s = unstableSnapshot { return s.metadata.index.next }
        return storage.firstIndex
    }

    var lastIndex: LogIndex {
        if let last = unstable.last { return last.index }
        if let s = unstableSnapshot { return s.metadata.index }
        return storage.lastIndex
    }

    var lastTerm: Term { term(at: lastIndex)! }

    /// The term at `index`, or nil if compacted away or beyond the end.
    func term(at index: LogIndex) -> Term? {
        if index > lastIndex { return nil }
        if let s = unstableSnapshot {
            if index == s.metadata.index { return s.metadata.term }
            if index < s.metadata.index { return nil }
        }
        if index >= unstableOffset, !unstable.isEmpty { return unstable[unstableOffset.distance(to: index)].term }
        if index < storage.firstIndex.previous { return nil }
        return try? storage.term(at: index)
    }

    func matches(_ index: LogIndex, _ term: Term) -> Bool { self.term(at: index) == term }

    /// §5.4.1: a candidate's log is at least as up to date as ours.
    func isUpToDate(lastIndex otherIndex: LogIndex, lastTerm otherTerm: Term) -> Bool {
        otherTerm > lastTerm || (otherTerm == lastTerm && otherIndex >= lastIndex)
    }

    /// Entries in `range`, bounded by `bytesMax` (always at least one).
    func entries(_ range: Range<LogIndex>, bytesMax: Int) throws(RaftLogError) -> [Entry] {
        guard !range.isEmpty else { return [] }
        if range.lowerBound < firstIndex { throw .compacted }
        precondition(range.upperBound <= lastIndex.next, "entries beyond the log")
        var out: [Entry] = []
        if range.lowerBound < unstableOffset {
            let upper = min(range.upperBound, unstableOffset)
            out = try storage.entries(range.lowerBound..<upper, bytesMax: bytesMax)
            if out.count < range.lowerBound.distance(to: upper) { return out }
        }
        var bytes = out.reduce(0) { $0 + $1.byteCount }
        var index = max(range.lowerBound, unstableOffset)
        while index < range.upperBound {
            let entry = unstable[unstableOffset.distance(to: index)]
            bytes += entry.byteCount
            if !out.isEmpty && bytes > bytesMax { break }
            out.append(entry)
            index = index.next
        }
        return out
    }

    /// Appends consecutive entries, truncating the unstable tail where they start.
    mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index > committed, "truncating committed entry \(first.index) (commit \(committed))")
        precondition(first.index <= lastIndex.next, "gap before \(first.index)")
        let end = unstableOffset.advanced(by: unstable.count)
        if first.index == end {
            unstable += entries
        } else if first.index <= unstableOffset {
            unstableOffset = first.index
            unstable = entries
        } else {
            unstable = Array(unstable[..<unstableOffset.distance(to: first.index)]) + entries
        }
    }

    mutating func commit(to index: LogIndex) {
        if index > committed {
            precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
            committed = index
        }
    }

    /// The largest index ≤ `index` whose term is ≤ `term` (etcd's findConflictByTerm): every
    /// entry above it certainly differs from the asker's log, so probing can skip them.
    func lastIndex(atOrBelow index: LogIndex, withTermAtMost term: Term) -> (LogIndex, Term) {
        var i = min(index, lastIndex)
        while true {
            guard let t = self.term(at: i) else { return (i, 0) }
            if t <= term || i == 0 { return (i, t) }
            i = i.previous
        }
    }

    /// The application persisted entries through `index` (of term `term`).
    mutating func stable(through index: LogIndex, term: Term) {
        guard index >= unstableOffset, !unstable.isEmpty, self.term(at: index) == term else { return }
        guard index < unstableOffset.advanced(by: unstable.count) else { return }
        unstable.removeFirst(unstableOffset.distance(to: index) + 1)
        unstableOffset = index.next
    }

    mutating func stableSnapshot(_ index: LogIndex) {
        if unstableSnapshot?.metadata.index == index { unstableSnapshot = nil }
    }

    /// Replaces the log by a snapshot from the leader.
    mutating func restore(_ snapshot: Snapshot) {
        let index = snapshot.metadata.index
        precondition(index > committed, "restoring a snapshot at or below commit")
        committed = index
        applying = max(applying, index)
        unstable = []
        unstableOffset = index.next
        unstableSnapshot = snapshot
    }

    /// Committed entries the application has not been given yet (none while a snapshot waits:
    /// it must be installed first).
    func entriesToApply(bytesMax: Int) -> [Entry] {
        guard unstableSnapshot == nil, applying < committed else { return [] }
        return (try? entries(applying.next..<committed.next, bytesMax: bytesMax)) ?? []
    }
}

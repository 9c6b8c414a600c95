// A replica's disk. Writes land in an unsynced buffer and become durable when their fsync
// completes (after a seeded latency). A crash keeps only a prefix of the unsynced writes, and
// the last write of that prefix may be torn — a torn record fails its checksum on recovery and
// is dropped, like a real write-ahead log's tail. Records are ordered as the Ready contract says:
// term and vote, snapshot, entries, then the commit index.

import Raft

struct SimulatedDisk: Sendable {
    enum Record: Sendable {
        case snapshot(Snapshot)
        case termVote(Term, ReplicaID?)
        case entries([Entry])
        case commit(LogIndex)
    }

    /// What survives a crash.
    private(set) var durable: MemoryRaftLog
    /// Written, not yet synced: each write is a list of records.
    private var unsynced: [[Record]] = []

    init(_ log: MemoryRaftLog) { durable = log }

    /// Records one Ready's persistent part as a single write; returns its sequence number.
    mutating func write(_ ready: Ready) -> Int {
        var records: [Record] = []
        if let h = ready.hardState { records.append(.termVote(h.term, h.vote)) }
        if let s = ready.snapshot { records.append(.snapshot(s)) }
        // One record per entry, so a torn write can cut a batch in the middle.
        for e in ready.entries { records.append(.entries([e])) }
        if let h = ready.hardState { records.append(.commit(h.commit)) }
        unsynced.append(records)
        return unsynced.count
    }

    /// The oldest unsynced write became durable.
    mutating func syncOldest() {
        guard !unsynced.isEmpty else { return }
        for record in unsynced.removeFirst() { Self.fold(record, into: &durable) }
    }

    var pendingWrites: Int { unsynced.count }

    /// A crash: a prefix of the unsynced records survives, possibly minus a torn last record.
    mutating func crash(_ random: inout SimulationRandom, tornWrites: Bool) -> (kept: Int, lost: Int) {
        let records = unsynced.flatMap { $0 }
        unsynced = []
        var keep = records.isEmpty ? 0 : random.below(records.count + 1)
        if tornWrites && keep > 0 && random.chance(300) { keep -= 1 }  // the last one was torn
        for record in records.prefix(keep) { Self.fold(record, into: &durable) }
        return (keep, records.count - keep)
    }

    /// A snapshot the replica made of its own state machine, written and synced at once (a
    /// snapshot file is fsynced and renamed into place before the log is compacted).
    mutating func compact(_ snapshot: Snapshot) {
        durable.createSnapshot(snapshot)
        durable.compact(through: snapshot.metadata.index)
    }

    private static func fold(_ record: Record, into log: inout MemoryRaftLog) {
        switch record {
        case .snapshot(let s):
            if s.metadata.index > (try! log.snapshot()).metadata.index { log.apply(s) }
        case .termVote(let term, let vote):
            var h = log.hardState
            h.term = term
            h.vote = vote
            log.setHardState(h)
        case .entries(let entries):
            log.append(entries)
        case .commit(let index):
            var h = log.hardState
            h.commit = index
            log.setHardState(h)
        }
    }
}

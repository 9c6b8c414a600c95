// The Raft safety properties (Figure 3 of the paper), checked incrementally as the simulation
// runs, so each check costs time proportional to what changed, not to the log's length:
//
//   election safety      at most one leader per term;
//   log matching         two logs with an entry of the same index and term agree on it and on
//                        everything before it — checked as: every (index, term) ever written by
//                        any replica has one payload and one predecessor term;
//   leader completeness  a new leader's log holds every entry committed before its election;
//   state-machine safety every replica applies the same entry at a given index;
//   monotone commit      a replica's commit index never decreases while it runs.

import Raft

public struct Violation: Error, Hashable, Sendable, CustomStringConvertible {
    public var property: String
    public var detail: String
    public var description: String { "\(property): \(detail)" }
}

struct SafetyChecker: Sendable {
    private struct Written: Hashable, Sendable {
        var payload: Entry.Payload
        var previousTerm: Term?
    }

    private var leaders: [Term: ReplicaID] = [:]
    private var written: [LogIndex: [Term: Written]] = [:]
    /// Committed entries by index, as first reported by any replica.
    private(set) var committed: [LogIndex: Entry] = [:]
    private(set) var highestCommitted: LogIndex = 0

    mutating func leader(_ id: ReplicaID, term: Term) throws(Violation) {
        if let other = leaders[term], other != id {
            throw Violation(property: "election safety", detail: "replicas \(other) and \(id) both leaders in term \(term)")
        }
        leaders[term] = id
    }

    /// `entry` was persisted by a replica whose log holds `previousTerm` just before it (nil if
    /// compacted away there).
    mutating func wrote(_ entry: Entry, previousTerm: Term?, by id: ReplicaID) throws(Violation) {
        let record = Written(payload: entry.payload, previousTerm: previousTerm)
        if let known = written[entry.index]?[entry.term] {
            let samePayload = known.payload == record.payload
            let samePrevious = known.previousTerm == nil || previousTerm == nil || known.previousTerm == previousTerm
            guard samePayload && samePrevious else {
                throw Violation(property: "log matching", detail: "replica \(id) wrote \(entry) that differs from another copy of \(entry.index)@\(entry.term)")
            }
            if known.previousTerm == nil, previousTerm != nil { written[entry.index]![entry.term] = record }
        } else {
            written[entry.index, default: [:]][entry.term] = record
        }
    }

    /// `entry` is committed according to replica `id`.
    mutating func committed(_ entry: Entry, by id: ReplicaID) throws(Violation) {
        if let known = committed[entry.index] {
            guard known == entry else {
                throw Violation(property: "state-machine safety", detail: "replica \(id) commits \(entry), but \(known) was committed at \(entry.index)")
            }
        } else {
            committed[entry.index] = entry
            highestCommitted = max(highestCommitted, entry.index)
        }
    }

    /// A replica just became leader: its log must contain every committed entry it still holds
    /// (entries below its snapshot are covered by the snapshot, checked when it was installed).
    func checkCompleteness(of replica: Replica<MemoryRaftLog>) throws(Violation) {
        guard highestCommitted >= replica.firstIndex else { return }
        for index in replica.firstIndex...highestCommitted {
            guard let entry = committed[index] else { continue }
            if replica.term(at: index) != entry.term {
                throw Violation(property: "leader completeness", detail: "leader \(replica.id) of term \(replica.term) lacks committed \(entry)")
            }
        }
    }
}

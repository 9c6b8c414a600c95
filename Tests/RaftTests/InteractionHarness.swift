// Drives several replicas step by step from a text script and prints everything they do, so a
// scenario's whole behaviour is one reviewable golden file (etcd-raft's interaction tests).
// The harness plays the application: it persists Ready output to a MemoryRaftLog, keeps a
// mailbox per replica, applies committed commands to a list, and makes snapshots of that list.

import Raft

struct InteractionHarness {
    struct Member {
        var replica: Replica<MemoryRaftLog>
        /// The state machine: every applied command, in order.
        var applied: [String] = []
        var mailbox: [Message] = []
        var reads: [String] = []
    }

    var members: [ReplicaID: Member] = [:]
    /// Replicas that cannot reach each other: message delivery across groups is dropped.
    var partitions: [[ReplicaID]] = []
    /// When set, every delivered message arrives twice (a network that duplicates).
    var duplicating = false
    var output: [String] = []
    var config = RaftConfig()

    init() {
        config.electionTicks = 10
        config.heartbeatTicks = 5
        config.snapshotChunkBytes = 8
        config.appendBytesMax = 64
        config.inflightMessagesMax = 4
    }

    var ids: [ReplicaID] { members.keys.sorted() }

    mutating func emit(_ line: String) { output.append(line) }

    func canReach(_ a: ReplicaID, _ b: ReplicaID) -> Bool {
        guard let ga = partitions.firstIndex(where: { $0.contains(a) }),
            let gb = partitions.firstIndex(where: { $0.contains(b) })
        else { return true }
        return ga == gb
    }

    // MARK: the application's side of the Ready contract

    /// Handles one Ready of `id`: persist, send (to mailboxes), apply, advance.
    mutating func processReady(_ id: ReplicaID) {
        var m = members[id]!
        let ready = m.replica.ready()
        emit("\(id) ready:")
        if let s = ready.softState { emit("  role=\(s.role.rawValue) leader=\(s.leader.map(\.description) ?? "-")") }
        if let h = ready.hardState { emit("  hard-state \(h)") }
        if let s = ready.snapshot {
            emit("  snapshot \(s.metadata) data=\(Self.describe(s.data))")
            m.replica.storage.apply(s)
            m.applied = Self.decode(s.data)
        }
        if !ready.entries.isEmpty {
            emit("  entries: " + ready.entries.map(\.description).joined(separator: ", "))
            m.replica.storage.append(ready.entries)
        }
        if let h = ready.hardState { m.replica.storage.setHardState(h) }
        for message in ready.messages {
            emit("  send \(message)")
            members[message.to]?.mailbox.append(message)
        }
        if !ready.committedEntries.isEmpty {
            emit("  apply: " + ready.committedEntries.map(\.description).joined(separator: ", "))
            for entry in ready.committedEntries {
                if case .command(let bytes) = entry.payload { m.applied.append(String(decoding: bytes, as: UTF8.self)) }
            }
        }
        for read in ready.readStates {
            emit("  read-state index=\(read.index) context=\(read.context)")
            m.reads.append("\(read.context)@\(read.index)")
        }
        m.replica.advance(ready)
        // Messages were queued into other members above; write back only our own state.
        let mailbox = members[id]!.mailbox
        m.mailbox = mailbox
        members[id] = m
    }

    /// Delivers every queued message of `id`, dropping those across a partition.
    mutating func deliver(_ id: ReplicaID, drop: Bool = false) {
        let mailbox = members[id]!.mailbox
        members[id]!.mailbox = []
        for message in mailbox {
            if drop || !canReach(message.from, message.to) {
                emit("dropped \(message)")
            } else {
                members[id]!.replica.step(message)
                if duplicating { members[id]!.replica.step(message) }
            }
        }
    }

    /// Processes Readys and delivers messages until nothing moves.
    mutating func stabilize(_ only: [ReplicaID]? = nil) {
        let scope = only ?? ids
        for _ in 0..<1000 {
            var moved = false
            for id in scope where members[id]!.replica.hasReady {
                processReady(id)
                moved = true
            }
            for id in scope where !members[id]!.mailbox.isEmpty {
                deliver(id)
                moved = true
            }
            if !moved { return }
        }
        preconditionFailure("stabilize did not converge")
    }

    // MARK: checks run after every command

    /// Log matching and state-machine safety among all members, as a tripwire in every script.
    func checkInvariants() -> String? {
        let all = ids
        for (i, a) in all.enumerated() {
            for b in all[(i + 1)...] {
                let ra = members[a]!.replica, rb = members[b]!.replica
                let common = min(ra.commitIndex, rb.commitIndex)
                let from = max(ra.firstIndex, rb.firstIndex)
                if from <= common {
                    for index in from...common where ra.term(at: index) != rb.term(at: index) {
                        return "committed entry \(index) differs between \(a) and \(b)"
                    }
                }
                let n = min(members[a]!.applied.count, members[b]!.applied.count)
                if members[a]!.applied.prefix(n) != members[b]!.applied.prefix(n) {
                    return "applied commands differ between \(a) and \(b)"
                }
            }
        }
        return nil
    }

    // MARK: state-machine image

    static func encode(_ applied: [String]) -> [UInt8] { Array(applied.joined(separator: ",").utf8) }
    static func decode(_ data: [UInt8]) -> [String] {
        data.isEmpty ? [] : String(decoding: data, as: UTF8.self).split(separator: ",").map(String.init)
    }
    static func describe(_ data: [UInt8]) -> String { "\"" + String(decoding: data, as: UTF8.self) + "\"" }
}

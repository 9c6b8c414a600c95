// Unit tests of the core's pieces that the golden scripts do not isolate: the storage contract
// of MemoryRaftLog, membership arithmetic, and the durability promises of a restarted replica.
// Each states its input and expected output as data.

import Raft
import Testing

@Suite struct MemoryRaftLogTests {
    static func entries(_ specs: [(UInt64, UInt64)]) -> [Entry] {
        specs.map { Entry(term: Term($0.1), index: LogIndex($0.0), payload: .command([UInt8($0.0)])) }
    }

    static func terms(_ log: MemoryRaftLog) -> [UInt64] { log.allEntries.map(\.term.rawValue) }

    @Test func appendTruncatesTheConflictingTail() {
        var log = MemoryRaftLog(bootstrap: Configuration(voters: [1]))
        log.append(Self.entries([(2, 1), (3, 1), (4, 1)]))
        log.append(Self.entries([(3, 2)]))
        #expect(Self.terms(log) == [1, 2])
        #expect(log.lastIndex == 3)
        log.append(Self.entries([(4, 2), (5, 2)]))
        #expect(Self.terms(log) == [1, 2, 2, 2])
    }

    @Test func compactionKeepsTheTermOfTheCompactionPoint() throws {
        var log = MemoryRaftLog(bootstrap: Configuration(voters: [1]))
        log.append(Self.entries([(2, 1), (3, 2), (4, 2)]))
        let metadata = SnapshotMetadata(index: 3, term: 2, configuration: Configuration(voters: [1]))
        log.createSnapshot(Snapshot(metadata: metadata, data: [7]))
        log.compact(through: 3)
        #expect(log.firstIndex == 4)
        #expect(try log.term(at: 3) == 2)
        #expect(throws: RaftLogError.compacted) { try log.term(at: 2) }
        #expect(throws: RaftLogError.compacted) { try log.entries(3..<5, bytesMax: .max) }
        #expect(try log.entries(4..<5, bytesMax: .max).map(\.index) == [4])
    }

    @Test func entriesAreBoundedByBytesButNeverEmpty() throws {
        var log = MemoryRaftLog(bootstrap: Configuration(voters: [1]))
        log.append(Self.entries([(2, 1), (3, 1), (4, 1)]))  // 17 bytes each
        #expect(try log.entries(2..<5, bytesMax: 1).count == 1)
        #expect(try log.entries(2..<5, bytesMax: 34).count == 2)
        #expect(try log.entries(2..<5, bytesMax: .max).count == 3)
    }

    /// Installing a snapshot replaces the whole stored log, even a tail that matches it: the replica
    /// restores only when its in-memory view does not match, and may already have truncated that tail.
    @Test func applyingASnapshotReplacesTheLog() {
        var log = MemoryRaftLog(bootstrap: Configuration(voters: [1]))
        log.append(Self.entries([(2, 1), (3, 1), (4, 1)]))
        log.apply(Snapshot(metadata: .init(index: 3, term: 1, configuration: Configuration(voters: [1])), data: []))
        #expect(log.firstIndex == 4 && log.lastIndex == 3)
        log.apply(Snapshot(metadata: .init(index: 9, term: 3, configuration: Configuration(voters: [1])), data: []))
        #expect(log.firstIndex == 10 && log.lastIndex == 9)
    }
}

@Suite struct ConfigurationTests {
    static let base = Configuration(voters: [1, 2, 3], learners: [4])

    @Test(arguments: [
        (ConfigurationChange.addVoter(5), "voters=(1 2 3 5) learners=(4)"),
        (.addLearner(5), "voters=(1 2 3) learners=(4 5)"),
        (.promote(4), "voters=(1 2 3 4)"),
        (.remove(2), "voters=(1 3) learners=(4)"),
        (.remove(4), "voters=(1 2 3)"),
        (.addVoter(4), "alreadyMember(4)"),
        (.promote(3), "notLearner(3)"),
        (.remove(9), "notMember(9)"),
    ])
    func applying(_ change: ConfigurationChange, _ expected: String) {
        switch Self.base.applying(change) {
        case .success(let next): #expect(next.description == expected)
        case .failure(let error): #expect("\(error)" == expected)
        }
    }

    @Test func theLastVoterCannotBeRemoved() {
        #expect(Configuration(voters: [1]).applying(.remove(1)) == .failure(.lastVoter(1)))
    }

    @Test(arguments: [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
    func quorum(_ voters: Int, _ expected: Int) {
        let configuration = Configuration(voters: (1...voters).map { ReplicaID(UInt64($0)) })
        #expect(configuration.quorum == expected)
    }
}

@Suite struct ReplicaDurabilityTests {
    static func replica(_ id: ReplicaID, storage: MemoryRaftLog) -> Replica<MemoryRaftLog> {
        var config = RaftConfig()
        config.seed = id.rawValue
        return Replica(id: id, config: config, storage: storage)
    }

    /// Handles a Ready as the contract says; returns its messages.
    static func persist(_ replica: inout Replica<MemoryRaftLog>) -> [Message] {
        let ready = replica.ready()
        if let s = ready.snapshot { replica.storage.apply(s) }
        replica.storage.append(ready.entries)
        if let h = ready.hardState { replica.storage.setHardState(h) }
        replica.advance(ready)
        return ready.messages
    }

    @Test func aRestartedReplicaDoesNotVoteTwiceInATerm() {
        let configuration = Configuration(voters: [1, 2, 3])
        var voter = Self.replica(1, storage: MemoryRaftLog(bootstrap: configuration))
        let request = { (from: ReplicaID) in
            Message(from: from, to: 1, term: 2, kind: .vote(lastIndex: 1, lastTerm: 1, transfer: false))
        }
        voter.step(request(2))
        #expect(Self.persist(&voter).map(\.kind) == [.voteResponse(granted: true)])
        // Crash and restart from what was persisted: the vote survives.
        var restarted = Self.replica(1, storage: voter.storage)
        #expect(restarted.term == 2 && restarted.vote == 2)
        restarted.step(request(3))
        #expect(Self.persist(&restarted).map(\.kind) == [.voteResponse(granted: false)])
        restarted.step(request(2))
        #expect(Self.persist(&restarted).map(\.kind) == [.voteResponse(granted: true)])
    }

    @Test func aFollowerRefusesProposalsAndReadsWithALeaderHint() {
        var follower = Self.replica(2, storage: MemoryRaftLog(bootstrap: Configuration(voters: [1, 2, 3])))
        follower.step(Message(from: 1, to: 2, term: 2, kind: .heartbeat(commit: 1, readContext: nil)))
        #expect(throws: ProposalError.notLeader(leaderHint: 1)) { try follower.propose([1]) }
        #expect(throws: ProposalError.notLeader(leaderHint: 1)) { try follower.readIndex(context: 9) }
        #expect(throws: ProposalError.notLeader(leaderHint: 1)) { try follower.transferLeadership(to: 3) }
    }

    @Test func aSingleVoterCommitsOnlyWhatItPersisted() throws {
        var alone = Self.replica(1, storage: MemoryRaftLog(bootstrap: Configuration(voters: [1])))
        alone.campaign()
        #expect(alone.role == .leader)
        _ = Self.persist(&alone)
        #expect(alone.commitIndex == 2)  // its empty entry, durable now
        let index = try alone.propose(Array("x".utf8))
        #expect(alone.commitIndex == 2, "not committed before it is persisted")
        let ready = alone.ready()
        #expect(ready.entries.map(\.index) == [index])
        #expect(ready.committedEntries.map(\.index) == [2])
        alone.storage.append(ready.entries)
        alone.advance(ready)
        #expect(alone.commitIndex == index)
        try alone.readIndex(context: 5)
        #expect(alone.ready().readStates == [ReadState(index: index, context: 5)])
    }
}

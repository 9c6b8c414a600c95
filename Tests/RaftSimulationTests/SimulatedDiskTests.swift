// The simulated disk's crash model: a crash keeps a prefix of the unsynced records in the order
// the Ready contract prescribes (term and vote, snapshot, entries, commit), so whatever survives
// is a state the replica could have been in; synced writes always survive.

@testable import RaftSimulation
import Raft
import Testing

@Suite struct SimulatedDiskTests {
    static func ready(term: Term, vote: ReplicaID?, commit: LogIndex, entries: [Entry]) -> Ready {
        var replica = Replica(id: 1, config: RaftConfig(), storage: MemoryRaftLog(bootstrap: Configuration(voters: [1])))
        var ready = replica.ready()
        ready.hardState = HardState(term: term, vote: vote, commit: commit)
        ready.entries = entries
        return ready
    }

    @Test(arguments: 0..<64)
    func aCrashLeavesAConsistentPrefix(seed: Int) {
        var disk = SimulatedDisk(MemoryRaftLog(bootstrap: Configuration(voters: [1])))
        let entries = (2...5).map { Entry(term: 3, index: LogIndex(UInt64($0)), payload: .command([UInt8($0)])) }
        _ = disk.write(Self.ready(term: 2, vote: 1, commit: 1, entries: []))
        disk.syncOldest()
        _ = disk.write(Self.ready(term: 3, vote: 2, commit: 4, entries: entries))
        var random = SimulationRandom(seed: UInt64(seed))
        let (kept, lost) = disk.crash(&random, tornWrites: true)
        #expect(kept + lost == 6)
        let log = disk.durable
        // The synced write survives; the unsynced one survives as a prefix.
        #expect(log.hardState.term >= 2)
        #expect(log.lastIndex.rawValue == 1 + UInt64(min(max(0, kept - 1), 4)))
        // Entries of term 3 survive only after the term-3 hard state: no log term above the term.
        if log.lastIndex > 1 { #expect(log.hardState.term == 3 && log.hardState.vote == 2) }
        // The commit index never points past what survived.
        #expect(log.hardState.commit <= log.lastIndex)
        #expect(log.hardState.commit == (kept == 6 ? 4 : 1))
    }
}

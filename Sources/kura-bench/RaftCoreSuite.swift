// kura-bench raft-core [--entries N] [--payload BYTES]: the consensus core alone — three
// `Replica` values in one thread, messages handed over in memory, storage in memory, no fsync —
// so the figure is the CPU cost of Raft itself: entries committed (on the leader, and applied by
// every replica) per CPU-second of this thread, with proposals of 1 and of 64 entries at a time.

import Raft

enum RaftCoreSuite {
    struct BadArgument: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ report: inout Report, _ arguments: [String]) throws {
        var entries = 200_000
        var payload = 64
        var i = 0
        while i < arguments.count {
            let value = i + 1 < arguments.count ? Int(arguments[i + 1]) : nil
            switch arguments[i] {
            case "--entries": entries = try value ?? { throw BadArgument(description: "--entries N") }()
            case "--payload": payload = try value ?? { throw BadArgument(description: "--payload BYTES") }()
            default: throw BadArgument(description: "unknown option \(arguments[i])")
            }
            i += 2
        }
        report.note("3 replicas in one thread, in-memory messages and storage, payload \(payload) B, \(entries) entries per case")
        let single = measure(batch: 1, entries: entries / 10, payload: payload)
        let batched = measure(batch: 64, entries: entries, payload: payload)
        report.add("raft-core committed, batch 1", single, "entries/CPU-s")
        report.add("raft-core committed, batch 64", batched, "entries/CPU-s", peer: "batch 1", peerValue: single)
    }

    /// Proposes `entries` entries, `batch` at a time, each batch driven to commit and apply on
    /// all three replicas before the next. Returns entries per CPU-second.
    static func measure(batch: Int, entries: Int, payload: Int) -> Double {
        var cluster = Cluster()
        let command = [UInt8](repeating: 0x61, count: payload)
        let commands = [[UInt8]](repeating: command, count: batch)
        let start = Clock.threadCPU()
        var proposed = 0
        while proposed < entries {
            let range = try! cluster.replicas[0].propose(commands)
            proposed += batch
            cluster.drive(until: range.upperBound)
        }
        let seconds = Clock.threadCPU() - start
        precondition(cluster.applied.allSatisfy { $0 >= proposed }, "not everything applied")
        return Double(proposed) / seconds
    }

    /// Three replicas and the application around them, as the Ready contract describes.
    struct Cluster {
        var replicas: [Replica<MemoryRaftLog>]
        var inboxes: [[Message]] = [[], [], []]
        var applied = [0, 0, 0]

        init() {
            let configuration = Configuration(voters: [1, 2, 3])
            var config = RaftConfig()
            config.inflightMessagesMax = 256
            config.appendBytesMax = 1 << 20
            replicas = (1...3).map { n in
                config.seed = UInt64(n)
                return Replica(id: ReplicaID(UInt64(n)), config: config, storage: MemoryRaftLog(bootstrap: configuration))
            }
            replicas[0].campaign()
            drive(until: 2)
            precondition(replicas[0].role == .leader)
        }

        /// Runs Readys and deliveries until every replica applied `index`.
        mutating func drive(until index: LogIndex) {
            while replicas.contains(where: { $0.appliedIndex < index }) {
                for i in 0..<3 where replicas[i].hasReady { handleReady(i) }
                for i in 0..<3 {
                    let inbox = inboxes[i]
                    inboxes[i] = []
                    for message in inbox { replicas[i].step(message) }
                }
            }
        }

        mutating func handleReady(_ i: Int) {
            let ready = replicas[i].ready()
            if let s = ready.snapshot { replicas[i].storage.apply(s) }
            replicas[i].storage.append(ready.entries)
            if let h = ready.hardState { replicas[i].storage.setHardState(h) }
            for message in ready.messages { inboxes[Int(message.to.rawValue) - 1].append(message) }
            for entry in ready.committedEntries where entry.payload != .empty { _ = entry; applied[i] += 1 }
            replicas[i].advance(ready)
            // Keep memory flat: compact every 10,000 applied entries.
            let appliedIndex = replicas[i].appliedIndex
            if appliedIndex.rawValue >= replicas[i].storage.firstIndex.rawValue + 10_000 {
                let metadata = SnapshotMetadata(
                    index: appliedIndex, term: replicas[i].term(at: appliedIndex)!,
                    configuration: replicas[i].configuration(at: appliedIndex))
                replicas[i].storage.createSnapshot(Snapshot(metadata: metadata, data: []))
                replicas[i].storage.compact(through: appliedIndex)
            }
        }
    }
}

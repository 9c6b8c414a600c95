// What `status` answers: one replica's view of the group, as JSON (for `kura cluster status`,
// tests and operators' scripts).
import Foundation
import Raft

public struct ReplicaStatus: Codable, Equatable, Sendable {
    public var id: UInt64
    public var role: String
    public var term: UInt64
    public var leader: UInt64?
    public var commit: UInt64
    public var applied: UInt64
    public var firstIndex: UInt64
    public var lastIndex: UInt64
    public var voters: [UInt64]
    public var learners: [UInt64]
    /// On the leader: each member's match index (how far its log is known to agree).
    public var match: [String: UInt64]
    public var addresses: [String: String]
    /// KV commands applied since the group began (survives snapshots).
    public var appliedCommands: Int
    public var keys: Int
    /// FNV-1a of the KV machine's snapshot image: equal on replicas that applied the same commands.
    public var stateDigest: String
    /// fdatasync calls of this replica's WAL since it started.
    public var walSyncs: Int
    /// Messages to peers dropped because a peer was unreachable or its socket was full.
    public var droppedMessages: Int

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The line `kura cluster status --json` prints for a replica that did not answer: the error
    /// text is JSON-escaped (it may hold quotes, backslashes, newlines).
    public static func unreachableJSON(id: UInt64, error: String) -> String {
        struct Unreachable: Encodable { var id: UInt64; var error: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(Unreachable(id: id, error: error))) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ bytes: [UInt8]) throws -> ReplicaStatus {
        try JSONDecoder().decode(ReplicaStatus.self, from: Data(bytes))
    }
}

extension GroupLoop {
    func status() -> ReplicaStatus {
        let replica = driver.replica
        var match: [String: UInt64] = [:]
        if replica.role == .leader {
            for member in replica.configuration.members {
                match[member.description] = replica.matchIndex(of: member)?.rawValue
            }
        }
        return ReplicaStatus(
            id: driver.id.rawValue, role: replica.role.rawValue, term: replica.term.rawValue,
            leader: replica.leader?.rawValue, commit: replica.commitIndex.rawValue,
            applied: replica.appliedIndex.rawValue, firstIndex: replica.firstIndex.rawValue,
            lastIndex: replica.lastIndex.rawValue,
            voters: replica.configuration.voters.map(\.rawValue), learners: replica.configuration.learners.map(\.rawValue),
            match: match, addresses: Dictionary(uniqueKeysWithValues: knownAddresses.map { ($0.key.description, $0.value) }),
            appliedCommands: driver.machine.kv.appliedCommands, keys: driver.machine.kv.values.count,
            stateDigest: fnv1a(driver.machine.kv.snapshot()), walSyncs: driver.walSyncCount,
            droppedMessages: transport.droppedCounts().values.reduce(0, +))
    }
}

func fnv1a(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
    }
    return String(hash, radix: 16)
}

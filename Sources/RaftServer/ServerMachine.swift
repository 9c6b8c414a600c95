// What a `kura serve` group replicates: the KV machine, plus the address book of replicas added
// after the group was founded. The address of a joining replica is committed before the
// membership change that adds it, so every replica — and any replica restored from a snapshot
// later — knows where to send it messages. The ids of removed replicas are committed too, before
// their removal, and never admitted again: a returning process with an old id could bring back
// votes and log entries the group has already forgotten (etcd never reuses a member id either).
import Raft
import RaftRuntime

public struct ServerMachine: ReplicatedStateMachine, Equatable {
    public private(set) var kv: KVMachine
    public private(set) var addresses: [ReplicaID: String] = [:]
    public private(set) var retired: Set<ReplicaID> = []

    /// Commands that are not the KV machine's start with this byte (the KV machine's start with 1 or 2).
    static let setAddressTag: UInt8 = 0xA0
    static let retireTag: UInt8 = 0xA1

    public static func setAddress(_ replica: ReplicaID, _ address: String) -> [UInt8] {
        var w = WireWriter()
        w.u8(setAddressTag)
        w.u64(replica.rawValue)
        w.string(address)
        return w.bytes
    }

    public static func retire(_ replica: ReplicaID) -> [UInt8] {
        var w = WireWriter()
        w.u8(retireTag)
        w.u64(replica.rawValue)
        return w.bytes
    }

    public init(snapshot: [UInt8]) throws {
        guard !snapshot.isEmpty else {
            kv = try KVMachine(snapshot: [])
            return
        }
        do {
            var r = WireReader(snapshot)
            kv = try KVMachine(snapshot: try r.blob())
            let count = try r.u32()
            for _ in 0..<count {
                let replica = ReplicaID(try r.u64())
                addresses[replica] = try r.string()
            }
            if r.position < r.bytes.count {  // snapshots written before retired ids were kept end here
                for _ in 0..<(try r.u32()) { retired.insert(ReplicaID(try r.u64())) }
            }
            try r.end()
        } catch let error as WireError {
            throw MessageCodecError.malformed("server snapshot: \(error)")
        }
    }

    public func snapshot() -> [UInt8] {
        var w = WireWriter()
        w.blob(kv.snapshot())
        w.u32(UInt32(addresses.count))
        for (replica, address) in addresses.sorted(by: { $0.key < $1.key }) {
            w.u64(replica.rawValue)
            w.string(address)
        }
        w.u32(UInt32(retired.count))
        for replica in retired.sorted() { w.u64(replica.rawValue) }
        return w.bytes
    }

    public mutating func apply(_ command: [UInt8], at index: LogIndex) -> (reply: [UInt8], effects: [String]) {
        if command.first == Self.retireTag {
            var r = WireReader(command)
            guard (try? r.u8()) != nil, let replica = try? r.u64(), (try? r.end()) != nil else {
                return (Array("malformed retire command".utf8), [])
            }
            retired.insert(ReplicaID(replica))
            addresses[ReplicaID(replica)] = nil
            return ([], [])
        }
        guard command.first == Self.setAddressTag else { return kv.apply(command, at: index) }
        var r = WireReader(command)
        guard (try? r.u8()) != nil, let replica = try? r.u64(), let address = try? r.string(), (try? r.end()) != nil else {
            return (Array("malformed set-address command".utf8), [])
        }
        addresses[ReplicaID(replica)] = address
        return ([], [])
    }
}

// What a `kura serve` group replicates: the KV machine, plus the address book of replicas added
// after the group was founded. The address of a joining replica is committed before the
// membership change that adds it, so every replica — and any replica restored from a snapshot
// later — knows where to send it messages.
import Raft
import RaftRuntime

public struct ServerMachine: ReplicatedStateMachine, Equatable {
    public private(set) var kv: KVMachine
    public private(set) var addresses: [ReplicaID: String] = [:]

    /// Commands that are not the KV machine's start with this byte (the KV machine's start with 1 or 2).
    static let setAddressTag: UInt8 = 0xA0

    public static func setAddress(_ replica: ReplicaID, _ address: String) -> [UInt8] {
        var w = WireWriter()
        w.u8(setAddressTag)
        w.u64(replica.rawValue)
        w.string(address)
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
        return w.bytes
    }

    public mutating func apply(_ command: [UInt8], at index: LogIndex) -> (reply: [UInt8], effects: [String]) {
        guard command.first == Self.setAddressTag else { return kv.apply(command, at: index) }
        var r = WireReader(command)
        guard (try? r.u8()) != nil, let replica = try? r.u64(), let address = try? r.string(), (try? r.end()) != nil else {
            return (Array("malformed set-address command".utf8), [])
        }
        addresses[ReplicaID(replica)] = address
        return ([], [])
    }
}

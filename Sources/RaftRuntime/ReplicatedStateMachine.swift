// The application's side of a consensus group, in Ra's style: `apply` is a pure function of the
// machine and the command, returning a reply for the proposer and effects for the world. The driver
// runs effects on the leader only and never while replaying the log after a restart, so an effect
// (send a notification, start an upload) may be lost or — across a leader change — repeated:
// effects must tolerate both.
import Raft

public protocol ReplicatedStateMachine: Sendable {
    associatedtype Effect: Sendable

    /// A machine restored from a snapshot's data (empty data: the initial state).
    init(snapshot: [UInt8]) throws
    mutating func apply(_ command: [UInt8], at index: LogIndex) -> (reply: [UInt8], effects: [Effect])
    /// An image of the machine from which `init(snapshot:)` restores it exactly.
    func snapshot() -> [UInt8]
}

/// A key-value machine for tests and benchmarks. Commands: `put` (reply: empty, or the previous
/// value when asked for — etcd's `prev_kv`: sending it back costs as much as the value itself) and
/// `cas` (reply: 1 if swapped); an effect names each changed key.
public struct KVMachine: ReplicatedStateMachine, Equatable {
    public private(set) var values: [String: String] = [:]
    public private(set) var appliedCommands = 0

    public enum Command: Equatable {
        case put(key: String, value: String, returnPrevious: Bool = false)
        case cas(key: String, expected: String?, value: String)
    }

    public init(snapshot: [UInt8]) throws {
        guard !snapshot.isEmpty else { return }
        var r = snapshot.withUnsafeBytes { Array($0) }[...]
        func string() throws -> String {
            guard r.count >= 4 else { throw MessageCodecError.malformed("KV snapshot truncated") }
            let n = Int(r.prefix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
            r = r.dropFirst(4)
            guard r.count >= n else { throw MessageCodecError.malformed("KV snapshot truncated") }
            defer { r = r.dropFirst(n) }
            return String(decoding: r.prefix(n), as: UTF8.self)
        }
        appliedCommands = Int(try string()) ?? 0
        while !r.isEmpty { values[try string()] = try string() }
    }

    public func snapshot() -> [UInt8] {
        var out: [UInt8] = []
        func put(_ s: String) {
            out.putU32(UInt32(s.utf8.count))
            out += Array(s.utf8)
        }
        put(String(appliedCommands))
        for key in values.keys.sorted() {
            put(key)
            put(values[key]!)
        }
        return out
    }

    public mutating func apply(_ command: [UInt8], at index: LogIndex) -> (reply: [UInt8], effects: [String]) {
        appliedCommands += 1
        switch Self.decode(command) {
        case .put(let key, let value, let returnPrevious)?:
            let previous = values.updateValue(value, forKey: key)
            return (returnPrevious ? Array((previous ?? "").utf8) : [], [key])
        case .cas(let key, let expected, let value)?:
            guard values[key] == expected else { return ([0], []) }
            values[key] = value
            return ([1], [key])
        case nil:
            return (Array("malformed command".utf8), [])
        }
    }

    public static func encode(_ command: Command) -> [UInt8] {
        var out: [UInt8] = []
        func put(_ s: String?) {
            guard let s else { out.putU32(UInt32.max); return }
            out.putU32(UInt32(s.utf8.count))
            out += Array(s.utf8)
        }
        switch command {
        case .put(let key, let value, let returnPrevious): out.append(returnPrevious ? 3 : 1); put(key); put(value)
        case .cas(let key, let expected, let value): out.append(2); put(key); put(expected); put(value)
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) -> Command? {
        bytes.withUnsafeBytes { raw -> Command? in
            var r = ByteReader(raw)
            func string() -> String?? {
                guard let n = r.u32() else { return .none }
                if n == UInt32.max { return .some(nil) }
                guard r.position + Int(n) <= raw.count else { return .none }
                defer { r.position += Int(n) }
                return .some(String(decoding: raw[r.position..<(r.position + Int(n))], as: UTF8.self))
            }
            switch r.u8() {
            case let tag where tag == 1 || tag == 3:
                guard let key = string() ?? nil, let value = string() ?? nil, r.isAtEnd else { return nil }
                return .put(key: key, value: value, returnPrevious: tag == 3)
            case 2:
                guard let key = string() ?? nil, let expected = string(), let value = string() ?? nil, r.isAtEnd else { return nil }
                return .cas(key: key, expected: expected, value: value)
            default:
                return nil
            }
        }
    }
}

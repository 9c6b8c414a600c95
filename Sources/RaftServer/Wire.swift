// The bytes on a replica's TCP port. Every connection carries length-prefixed frames (u32
// little-endian body length, then the body); the first frame is a `Hello` that says whether the
// other end is a peer replica (Raft messages follow, encoded by MessageCodec) or a client
// (requests follow, each answered by one response with the same correlation number; several
// may be in flight on one connection, and responses may come back in any order).
import Raft
import RaftRuntime

/// Frames longer than this are refused: a peer or client that sends one is cut off.
public let frameBytesMax = 64 << 20

public enum WireError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case frameTooLong(Int)

    public var description: String {
        switch self {
        case .malformed(let what): return "malformed frame: \(what)"
        case .frameTooLong(let n): return "frame of \(n) bytes is over the limit of \(frameBytesMax)"
        }
    }
}

/// The first frame of every connection.
public enum Hello: Equatable, Sendable {
    /// A replica of `cluster` that will send Raft messages from `from`.
    case peer(from: ReplicaID, cluster: UInt64)
    case client

    static let magic: [UInt8] = Array("KURA".utf8)

    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.bytes += Self.magic
        switch self {
        case .peer(let from, let cluster): w.u8(1); w.u64(from.rawValue); w.u64(cluster)
        case .client: w.u8(2)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Hello {
        var r = WireReader(bytes)
        guard Array(try r.take(4)) == magic else { throw .malformed("hello without the KURA magic") }
        switch try r.u8() {
        case 1:
            let hello = Hello.peer(from: ReplicaID(try r.u64()), cluster: try r.u64())
            try r.end()
            return hello
        case 2:
            try r.end()
            return .client
        case let kind:
            throw .malformed("hello of unknown kind \(kind)")
        }
    }
}

/// What a client asks of a replica.
public enum Request: Equatable, Sendable {
    /// Sets `key`; the reply is empty, or the previous value if `returnPrevious`.
    case put(key: String, value: String, returnPrevious: Bool = false)
    /// Sets `key` to `value` if it holds `expected` (nil: absent); the reply says whether it did.
    case cas(key: String, expected: String?, value: String)
    /// A linearizable read, served by the leader through ReadIndex.
    case get(key: String)
    /// What this replica's own state machine holds now: possibly stale, never linearizable.
    case getLocal(key: String)
    /// The replica's view of the group, as JSON.
    case status
    /// Records the address at which a replica is reached (committed before the replica is added).
    case setAddress(ReplicaID, String)
    /// A membership change; answered once its entry is committed.
    case change(ConfigurationChange)
    case transferLeader(ReplicaID)
    /// The configuration this replica has applied, and at which index (`Membership`): how a
    /// replica that hears nothing from its leader finds out whether it was removed.
    case membership

    public var isWrite: Bool {
        switch self {
        case .put, .cas, .setAddress, .change: return true
        case .get, .getLocal, .status, .transferLeader, .membership: return false
        }
    }
}

/// A replica's answer.
public enum Response: Equatable, Sendable {
    case ok([UInt8])
    /// Ask the leader instead; it is `leader` (nil: unknown), reached at `address` if known.
    case notLeader(leader: ReplicaID?, address: String?)
    /// The request certainly had no effect: it may be retried.
    case failed(String)
    /// The request may or may not take effect (the replica lost leadership, or timed out).
    case unknown(String)
}

/// A request or response with the number that pairs them on a connection.
public struct Envelope<Body: Equatable & Sendable>: Equatable, Sendable {
    public var id: UInt64
    public var body: Body
    public init(id: UInt64, body: Body) {
        self.id = id
        self.body = body
    }
}

extension Envelope where Body == Request {
    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.u64(id)
        switch body {
        case .put(let key, let value, let returnPrevious): w.u8(returnPrevious ? 9 : 1); w.string(key); w.string(value)
        case .cas(let key, let expected, let value): w.u8(2); w.string(key); w.optionalString(expected); w.string(value)
        case .get(let key): w.u8(3); w.string(key)
        case .getLocal(let key): w.u8(4); w.string(key)
        case .status: w.u8(5)
        case .setAddress(let replica, let address): w.u8(6); w.u64(replica.rawValue); w.string(address)
        case .change(let change):
            w.u8(7)
            switch change {
            case .addVoter(let r): w.u8(1); w.u64(r.rawValue)
            case .addLearner(let r): w.u8(2); w.u64(r.rawValue)
            case .promote(let r): w.u8(3); w.u64(r.rawValue)
            case .remove(let r): w.u8(4); w.u64(r.rawValue)
            }
        case .transferLeader(let replica): w.u8(8); w.u64(replica.rawValue)
        case .membership: w.u8(10)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Self {
        var r = WireReader(bytes)
        let id = try r.u64()
        let body: Request
        switch try r.u8() {
        case let kind where kind == 1 || kind == 9:
            body = .put(key: try r.string(), value: try r.string(), returnPrevious: kind == 9)
        case 2: body = .cas(key: try r.string(), expected: try r.optionalString(), value: try r.string())
        case 3: body = .get(key: try r.string())
        case 4: body = .getLocal(key: try r.string())
        case 5: body = .status
        case 6: body = .setAddress(ReplicaID(try r.u64()), try r.string())
        case 7:
            let kind = try r.u8()
            let replica = ReplicaID(try r.u64())
            switch kind {
            case 1: body = .change(.addVoter(replica))
            case 2: body = .change(.addLearner(replica))
            case 3: body = .change(.promote(replica))
            case 4: body = .change(.remove(replica))
            default: throw .malformed("membership change of unknown kind \(kind)")
            }
        case 8: body = .transferLeader(ReplicaID(try r.u64()))
        case 10: body = .membership
        case let op: throw .malformed("request of unknown kind \(op)")
        }
        try r.end()
        return Envelope(id: id, body: body)
    }
}

extension Envelope where Body == Response {
    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.u64(id)
        switch body {
        case .ok(let bytes): w.u8(0); w.blob(bytes)
        case .notLeader(let leader, let address): w.u8(1); w.u64(leader?.rawValue ?? 0); w.optionalString(address)
        case .failed(let why): w.u8(2); w.string(why)
        case .unknown(let why): w.u8(3); w.string(why)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Self {
        var r = WireReader(bytes)
        let id = try r.u64()
        let body: Response
        switch try r.u8() {
        case 0: body = .ok(try r.blob())
        case 1:
            let leader = try r.u64()
            body = .notLeader(leader: leader == 0 ? nil : ReplicaID(leader), address: try r.optionalString())
        case 2: body = .failed(try r.string())
        case 3: body = .unknown(try r.string())
        case let kind: throw .malformed("response of unknown kind \(kind)")
        }
        try r.end()
        return Envelope(id: id, body: body)
    }
}

// MARK: - little-endian field codec

struct WireWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); bytes += b }
    mutating func string(_ s: String) { blob(Array(s.utf8)) }
    /// nil is written as the length 0xFFFF_FFFF.
    mutating func optionalString(_ s: String?) {
        guard let s else { u32(.max); return }
        string(s)
    }
}

struct WireReader {
    let bytes: [UInt8]
    var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func take(_ n: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - position >= n else { throw .malformed("truncated at byte \(position)") }
        defer { position += n }
        return bytes[position..<(position + n)]
    }
    mutating func u8() throws(WireError) -> UInt8 { try take(1).first! }
    mutating func u32() throws(WireError) -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64() throws(WireError) -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func blob() throws(WireError) -> [UInt8] { Array(try take(Int(try u32()))) }
    mutating func string() throws(WireError) -> String {
        let b = try blob()
        guard let s = String(validating: b, as: UTF8.self) else { throw .malformed("string is not UTF-8") }
        return s
    }
    mutating func optionalString() throws(WireError) -> String? {
        let n = try u32()
        if n == .max { return nil }
        position -= 4
        return try string()
    }
    func end() throws(WireError) {
        guard position == bytes.count else { throw .malformed("\(bytes.count - position) trailing bytes") }
    }
}

// Log entries and the membership changes some of them carry.

/// One entry of the replicated log.
public struct Entry: Hashable, Sendable, CustomStringConvertible {
    public enum Payload: Hashable, Sendable {
        /// Appended by a new leader at the start of its term (§8: it lets the leader learn which
        /// entries are committed, because only entries of the current term are committed by counting).
        case empty
        /// An opaque command for the application's state machine.
        case command([UInt8])
        /// A single-server membership change; it takes effect as soon as it is appended (§4.1 of
        /// the thesis), not when committed.
        case configuration(ConfigurationChange)
    }

    public var term: Term
    public var index: LogIndex
    public var payload: Payload

    public init(term: Term, index: LogIndex, payload: Payload) {
        self.term = term
        self.index = index
        self.payload = payload
    }

    /// The size counted against batch and snapshot limits: payload bytes plus a fixed header.
    public var byteCount: Int {
        switch payload {
        case .empty: return 16
        case .command(let bytes): return 16 + bytes.count
        case .configuration: return 24
        }
    }

    public var description: String {
        switch payload {
        case .empty: return "\(index)@\(term) empty"
        case .command(let bytes): return "\(index)@\(term) \(Self.render(bytes))"
        case .configuration(let change): return "\(index)@\(term) \(change)"
        }
    }

    /// Printable ASCII as a quoted string, anything else as hex; used by traces and golden files.
    static func render(_ bytes: [UInt8]) -> String {
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 }) {
            return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        let digits = Array("0123456789abcdef")
        var out = "0x"
        for b in bytes.prefix(16) {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return bytes.count > 16 ? out + "…(\(bytes.count)B)" : out
    }
}

/// A single-server membership change (thesis chapter 4). One may be pending at a time.
public enum ConfigurationChange: Hashable, Sendable, CustomStringConvertible {
    /// Adds a voter directly. Prefer `addLearner` then `promote`, so the new replica catches up
    /// before it counts toward the quorum.
    case addVoter(ReplicaID)
    /// Adds a non-voting learner: it receives the log but neither votes nor counts for commit.
    case addLearner(ReplicaID)
    /// Makes a learner a voter.
    case promote(ReplicaID)
    /// Removes a voter or a learner.
    case remove(ReplicaID)

    public var replica: ReplicaID {
        switch self {
        case .addVoter(let id), .addLearner(let id), .promote(let id), .remove(let id): return id
        }
    }

    public var description: String {
        switch self {
        case .addVoter(let id): return "add-voter \(id)"
        case .addLearner(let id): return "add-learner \(id)"
        case .promote(let id): return "promote \(id)"
        case .remove(let id): return "remove \(id)"
        }
    }
}

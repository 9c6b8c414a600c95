// What the write-ahead log holds, and its binary form.
//
// Frame: u32 body length, u32 CRC-32C of the body, body. Body: u8 kind, u64 group, then the kind's
// fields, all little-endian. A group is one consensus group; many share one log (Ra's design), so
// one fdatasync makes every group's writes durable.
import Raft

public enum WALRecord: Equatable, Sendable {
    case entry(group: UInt64, Entry)
    case hardState(group: UInt64, HardState)
    /// The group's log is covered by a snapshot through `index`: replay drops entries up to it.
    case snapshot(group: UInt64, index: LogIndex, term: Term)

    var group: UInt64 {
        switch self {
        case .entry(let g, _), .hardState(let g, _), .snapshot(let g, _, _): g
        }
    }

    static let frameHeaderSize = 8
    /// A body larger than this is not a record but damage (a command is bounded well below it).
    static let bodySizeMax = 64 << 20

    /// Bytes `appendFrame` adds: what a caller reserves to avoid regrowing its buffer.
    var frameSize: Int {
        guard case .entry(_, let entry) = self, case .command(let bytes) = entry.payload else { return 64 }
        return Self.frameHeaderSize + 26 + bytes.count
    }

    /// Encodes the frame in place at the end of `out` (one copy of a command's bytes, the checksum
    /// taken over them there): entries of several KiB pass through here on every replica.
    func appendFrame(to out: inout [UInt8]) {
        let start = out.count
        out.putU64(0)  // length and checksum, filled in once the body is written
        switch self {
        case .entry(let group, let entry):
            out.append(1)
            out.putU64(group)
            out.putU64(entry.term.rawValue)
            out.putU64(entry.index.rawValue)
            switch entry.payload {
            case .empty:
                out.append(0)
            case .command(let bytes):
                out.append(1)
                out += bytes
            case .configuration(let change):
                out.append(2)
                let (kind, replica): (UInt8, ReplicaID) = switch change {
                case .addVoter(let r): (0, r)
                case .addLearner(let r): (1, r)
                case .promote(let r): (2, r)
                case .remove(let r): (3, r)
                }
                out.append(kind)
                out.putU64(replica.rawValue)
            }
        case .hardState(let group, let state):
            out.append(2)
            out.putU64(group)
            out.putU64(state.term.rawValue)
            out.putU64(state.vote?.rawValue ?? 0)
            out.putU64(state.commit.rawValue)
        case .snapshot(let group, let index, let term):
            out.append(3)
            out.putU64(group)
            out.putU64(index.rawValue)
            out.putU64(term.rawValue)
        }
        let bodyStart = start + Self.frameHeaderSize
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        let length = UInt32(out.count - bodyStart)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: length.littleEndian, toByteOffset: start, as: UInt32.self)
            raw.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// Decodes a body whose checksum already matched; nil if its fields make no sense.
    static func decode(body: UnsafeRawBufferPointer) -> WALRecord? {
        var reader = ByteReader(body)
        guard let kind = reader.u8(), let group = reader.u64() else { return nil }
        switch kind {
        case 1:
            guard let term = reader.u64(), let index = reader.u64(), index > 0, let payloadKind = reader.u8() else { return nil }
            let payload: Entry.Payload
            switch payloadKind {
            case 0: payload = .empty
            case 1: payload = .command(reader.rest())
            case 2:
                guard let change = reader.u8(), let raw = reader.u64(), raw != 0 else { return nil }
                let replica = ReplicaID(raw)
                switch change {
                case 0: payload = .configuration(.addVoter(replica))
                case 1: payload = .configuration(.addLearner(replica))
                case 2: payload = .configuration(.promote(replica))
                case 3: payload = .configuration(.remove(replica))
                default: return nil
                }
            default: return nil
            }
            guard reader.isAtEnd else { return nil }
            return .entry(group: group, Entry(term: Term(term), index: LogIndex(index), payload: payload))
        case 2:
            guard let term = reader.u64(), let vote = reader.u64(), let commit = reader.u64(), reader.isAtEnd else { return nil }
            return .hardState(group: group, HardState(term: Term(term), vote: vote == 0 ? nil : ReplicaID(vote), commit: LogIndex(commit)))
        case 3:
            guard let index = reader.u64(), let term = reader.u64(), reader.isAtEnd else { return nil }
            return .snapshot(group: group, index: LogIndex(index), term: Term(term))
        default:
            return nil
        }
    }
}

extension [UInt8] {
    mutating func putU32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func putU64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}

struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }

    mutating func u8() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u32() -> UInt32? {
        guard position + 4 <= bytes.count else { return nil }
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func u64() -> UInt64? {
        guard position + 8 <= bytes.count else { return nil }
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[position...])
    }
}

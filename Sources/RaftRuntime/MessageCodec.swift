// Raft messages on the wire: a compact little-endian binary form, one message per frame. The
// transport adds the length prefix; this file only maps a Message to bytes and back, refusing
// anything malformed with a reason instead of trapping (bytes come from the network).
import Raft

public enum MessageCodecError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self { case .malformed(let why): "malformed Raft message: \(why)" }
    }
}

public enum MessageCodec {
    static let version: UInt8 = 1

    public static func encode(_ m: Message, group: UInt64 = 0) -> [UInt8] {
        var out: [UInt8] = [version]
        out.putU64(group)
        out.putU64(m.from.rawValue)
        out.putU64(m.to.rawValue)
        out.putU64(m.term.rawValue)
        switch m.kind {
        case .preVote(let index, let term):
            out.append(1); out.putU64(index.rawValue); out.putU64(term.rawValue)
        case .preVoteResponse(let granted):
            out.append(2); out.append(granted ? 1 : 0)
        case .vote(let index, let term, let transfer):
            out.append(3); out.putU64(index.rawValue); out.putU64(term.rawValue); out.append(transfer ? 1 : 0)
        case .voteResponse(let granted):
            out.append(4); out.append(granted ? 1 : 0)
        case .append(let prevIndex, let prevTerm, let entries, let commit):
            out.append(5); out.putU64(prevIndex.rawValue); out.putU64(prevTerm.rawValue); out.putU64(commit.rawValue)
            out.putU32(UInt32(entries.count))
            out.reserveCapacity(out.count + entries.reduce(0) { $0 + WALRecord.entry(group: 0, $1).frameSize })
            for entry in entries { WALRecord.entry(group: 0, entry).appendFrame(to: &out) }
        case .appendResponse(.success(let match)):
            out.append(6); out.putU64(match.rawValue)
        case .appendResponse(.reject(let rejected, let hintIndex, let hintTerm)):
            out.append(7); out.putU64(rejected.rawValue); out.putU64(hintIndex.rawValue); out.putU64(hintTerm.rawValue)
        case .heartbeat(let commit, let context):
            out.append(8); out.putU64(commit.rawValue); putOptional(context, &out)
        case .heartbeatResponse(let context):
            out.append(9); putOptional(context, &out)
        case .snapshotChunk(let metadata, let offset, let data, let done):
            out.append(10); putMetadata(metadata, &out); out.putU64(UInt64(offset)); out.append(done ? 1 : 0)
            out.putU32(UInt32(data.count)); out += data
        case .snapshotChunkResponse(let index, let next):
            out.append(11); out.putU64(index.rawValue); out.putU64(UInt64(next))
        case .timeoutNow:
            out.append(12)
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> (group: UInt64, message: Message) {
        let result: Result<(UInt64, Message), MessageCodecError> = bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            do throws(MessageCodecError) {
                guard try need(r.u8(), "version") == version else { throw .malformed("unknown version") }
                let group = try need(r.u64(), "group")
                let from = try replica(need(r.u64(), "from"))
                let to = try replica(need(r.u64(), "to"))
                let term = Term(try need(r.u64(), "term"))
                let kind = try decodeKind(&r)
                guard r.isAtEnd else { throw .malformed("\(raw.count - r.position) trailing bytes") }
                return .success((group, Message(from: from, to: to, term: term, kind: kind)))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func decodeKind(_ r: inout ByteReader) throws(MessageCodecError) -> Message.Kind {
        func index() throws(MessageCodecError) -> LogIndex { LogIndex(try need(r.u64(), "index")) }
        func term() throws(MessageCodecError) -> Term { Term(try need(r.u64(), "term")) }
        func flag() throws(MessageCodecError) -> Bool { try need(r.u8(), "flag") != 0 }
        switch try need(r.u8(), "kind") {
        case 1: return .preVote(lastIndex: try index(), lastTerm: try term())
        case 2: return .preVoteResponse(granted: try flag())
        case 3: return .vote(lastIndex: try index(), lastTerm: try term(), transfer: try flag())
        case 4: return .voteResponse(granted: try flag())
        case 5:
            let prevIndex = try index(), prevTerm = try term(), commit = try index()
            let count = Int(try need(r.u32(), "entry count"))
            guard count <= r.bytes.count else { throw .malformed("entry count \(count) exceeds the message") }
            var entries: [Entry] = []
            for _ in 0..<count {
                guard let (body, next) = WriteAheadLog.frame(in: r.bytes, at: r.position),
                      case .entry(_, let entry)? = WALRecord.decode(body: UnsafeRawBufferPointer(rebasing: r.bytes[body]))
                else { throw .malformed("entry \(entries.count) is damaged") }
                entries.append(entry)
                r.position = next
            }
            return .append(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commit)
        case 6: return .appendResponse(.success(matchIndex: try index()))
        case 7: return .appendResponse(.reject(rejectedIndex: try index(), hintIndex: try index(), hintTerm: try term()))
        case 8: return .heartbeat(commit: try index(), readContext: try optional(&r))
        case 9: return .heartbeatResponse(readContext: try optional(&r))
        case 10:
            let metadata = try decodeMetadata(&r)
            let offset = try int(need(r.u64(), "offset"))
            let done = try flag()
            let count = Int(try need(r.u32(), "data length"))
            guard r.position + count <= r.bytes.count else { throw .malformed("snapshot chunk shorter than its length") }
            let data = Array(r.bytes[r.position..<(r.position + count)])
            r.position += count
            return .snapshotChunk(metadata: metadata, offset: offset, data: data, done: done)
        case 11: return .snapshotChunkResponse(snapshotIndex: try index(), nextOffset: try int(need(r.u64(), "offset")))
        case 12: return .timeoutNow
        case let k: throw .malformed("unknown kind \(k)")
        }
    }

    static func need<T>(_ value: T?, _ field: String) throws(MessageCodecError) -> T {
        guard let value else { throw .malformed("truncated at \(field)") }
        return value
    }

    static func int(_ raw: UInt64) throws(MessageCodecError) -> Int {
        guard let value = Int(exactly: raw) else { throw .malformed("offset \(raw) out of range") }
        return value
    }

    static func replica(_ raw: UInt64) throws(MessageCodecError) -> ReplicaID {
        guard raw != 0 else { throw .malformed("replica id 0") }
        return ReplicaID(raw)
    }

    static func putOptional(_ value: UInt64?, _ out: inout [UInt8]) {
        if let value { out.append(1); out.putU64(value) } else { out.append(0) }
    }

    static func optional(_ r: inout ByteReader) throws(MessageCodecError) -> UInt64? {
        try need(r.u8(), "option") == 0 ? nil : try need(r.u64(), "option value")
    }

    static func putMetadata(_ m: SnapshotMetadata, _ out: inout [UInt8]) {
        out.putU64(m.index.rawValue)
        out.putU64(m.term.rawValue)
        putConfiguration(m.configuration, &out)
    }

    /// A configuration's binary form (voters, then learners), as snapshots and `kura serve`'s
    /// membership answers carry it.
    public static func putConfiguration(_ c: Configuration, _ out: inout [UInt8]) {
        out.putU32(UInt32(c.voters.count))
        for v in c.voters { out.putU64(v.rawValue) }
        out.putU32(UInt32(c.learners.count))
        for l in c.learners { out.putU64(l.rawValue) }
    }

    /// Decodes exactly one configuration from `bytes` (nothing may follow it).
    public static func decodeConfiguration(_ bytes: ArraySlice<UInt8>) throws(MessageCodecError) -> Configuration {
        let result: Result<Configuration, MessageCodecError> = bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            do throws(MessageCodecError) {
                let c = try decodeConfiguration(&r)
                guard r.isAtEnd else { throw .malformed("\(raw.count - r.position) trailing bytes after a configuration") }
                return .success(c)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func decodeMetadata(_ r: inout ByteReader) throws(MessageCodecError) -> SnapshotMetadata {
        let index = LogIndex(try need(r.u64(), "snapshot index"))
        let term = Term(try need(r.u64(), "snapshot term"))
        return SnapshotMetadata(index: index, term: term, configuration: try decodeConfiguration(&r))
    }

    static func decodeConfiguration(_ r: inout ByteReader) throws(MessageCodecError) -> Configuration {
        func ids(_ what: String) throws(MessageCodecError) -> [ReplicaID] {
            let n = Int(try need(r.u32(), what))
            guard n <= 4096 else { throw .malformed("\(n) \(what)") }
            var out: [ReplicaID] = []
            for _ in 0..<n { out.append(try replica(try need(r.u64(), what))) }
            return out
        }
        let voters = try ids("voters"), learners = try ids("learners")
        guard Set(voters).count == voters.count, Set(learners).count == learners.count, Set(voters).isDisjoint(with: learners) else {
            throw .malformed("configuration repeats a replica")
        }
        return Configuration(voters: voters, learners: learners)
    }
}

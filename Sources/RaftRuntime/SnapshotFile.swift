// A group's latest snapshot on disk: written to a temporary file, fsynced, renamed over the old one,
// directory fsynced — so a crash leaves the old snapshot or the new one, never a mix. A CRC-32C over
// the whole file catches damage; a damaged snapshot is refused, not half-loaded.
import Raft

#if canImport(Glibc)
import Glibc
#endif

public enum SnapshotFile {
    static let magic: UInt64 = 0x3150_414E_5352_554B  // "KURSNAP1"

    public static func path(directory: String, group: UInt64) -> String {
        "\(directory)/group-\(group).snapshot"
    }

    public static func write(_ snapshot: Snapshot, directory: String, group: UInt64) throws(WALError) {
        var bytes: [UInt8] = []
        bytes.putU64(magic)
        var header: [UInt8] = []
        MessageCodec.putMetadata(snapshot.metadata, &header)
        bytes.putU32(UInt32(header.count))
        bytes += header
        bytes += snapshot.data
        bytes.putU32(CRC32C.checksum(bytes))
        let target = path(directory: directory, group: group)
        let temporary = target + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: temporary, code: errno) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = n < 0 ? errno : ENOSPC
                close(fd)
                throw .io(operation: "write", path: temporary, code: code)
            }
            done += n
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw .io(operation: "fsync", path: temporary, code: code)
        }
        close(fd)
        guard rename(temporary, target) == 0 else { throw .io(operation: "rename", path: target, code: errno) }
        try WriteAheadLog.syncDirectory(directory)
    }

    /// The stored snapshot, nil if there is none.
    public static func read(directory: String, group: UInt64) throws(WALError) -> Snapshot? {
        let target = path(directory: directory, group: group)
        guard access(target, F_OK) == 0 else { return nil }
        let bytes = try WriteAheadLog.readAll(target)
        let name = "group-\(group).snapshot"
        guard bytes.count >= 16 else { throw .corrupt(segment: name, offset: 0, reason: "snapshot file truncated") }
        let body = Array(bytes.dropLast(4))
        let stored = bytes.suffix(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        guard CRC32C.checksum(body) == stored else { throw .corrupt(segment: name, offset: 0, reason: "snapshot checksum mismatch") }
        let decoded: Result<Snapshot, WALError> = body.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            guard r.u64() == magic, let length = r.u32() else { return .failure(.corrupt(segment: name, offset: 0, reason: "not a snapshot file")) }
            let headerEnd = r.position + Int(length)
            guard headerEnd <= raw.count else { return .failure(.corrupt(segment: name, offset: 8, reason: "header longer than the file")) }
            guard let metadata = try? MessageCodec.decodeMetadata(&r), r.position == headerEnd else {
                return .failure(.corrupt(segment: name, offset: 12, reason: "snapshot header malformed"))
            }
            return .success(Snapshot(metadata: metadata, data: Array(raw[headerEnd...])))
        }
        return try decoded.get()
    }
}

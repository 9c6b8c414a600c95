// Opening the log: replay every segment, repair a torn tail, refuse anything else.
//
// A torn tail is what a crash leaves when the last write reached the disk only in part: in the
// last segment, a frame that is short, has an impossible length or fails its checksum, with no
// valid frame anywhere after it. It holds nothing that was acknowledged (acknowledgement waits for
// fdatasync), so it is cut off. Damage with a valid frame after it, or in an earlier segment, is
// corruption of acknowledged data: the log refuses to open and says where.
import Raft

#if canImport(Glibc)
import Glibc
#endif

extension WriteAheadLog {
    public static func open(
        directory: String, options: Options = Options(), syncOverride: (@Sendable () -> Int32)? = nil
    ) throws(WALError) -> (WriteAheadLog, [UInt64: RecoveredGroup]) {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw .io(operation: "mkdir", path: directory, code: errno) }
        var state = State()
        let names = try segmentNames(directory)
        for (i, name) in names.enumerated() {
            let isLast = i == names.count - 1
            try replay(segment: directory + "/" + name, expected: UInt64(i) + (names.first.flatMap { sequence(of: $0) } ?? 0),
                       isLast: isLast, into: &state)
        }
        let groups = state.groups
        if let last = state.segments.last, state.segmentBytes < options.segmentSizeMax {
            let fd = Glibc.open(last.path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard fd >= 0 else { throw .io(operation: "open", path: last.path, code: errno) }
            state.fd = fd
        } else {
            try startSegment(directory: directory, sequence: (state.segments.last?.sequence ?? 0) + (state.segments.isEmpty ? 0 : 1), state: &state)
        }
        state.written = 0
        state.synced = 0
        return (WriteAheadLog(directory: directory, options: options, state: state, syncOverride: syncOverride), groups)
    }

    static func sequence(of name: String) -> UInt64? {
        guard name.hasSuffix(".wal"), name.count == 20 else { return nil }
        return UInt64(name.prefix(16), radix: 16)
    }

    static func segmentNames(_ directory: String) throws(WALError) -> [String] {
        guard let dir = opendir(directory) else { throw .io(operation: "opendir", path: directory, code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        var leftovers: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            if sequence(of: name) != nil { names.append(name) }
            // A compacted segment whose freeing a crash interrupted.
            if name.hasSuffix(".wal.free") { leftovers.append(directory + "/" + name) }
        }
        if !leftovers.isEmpty {
            let leftovers = leftovers
            // Its rename may not be durable yet (the process died, the machine did not): make it so
            // before cutting the file short.
            reaper.async {
                guard (try? syncDirectory(directory)) != nil else { return }
                for path in leftovers { release(path) }
            }
        }
        return names.sorted()
    }

    static func readAll(_ path: String) throws(WALError) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(operation: "stat", path: path, code: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(operation: "read", path: path, code: n < 0 ? errno : EIO) }
            done += n
        }
        return bytes
    }

    /// The frame at `offset` if it is whole and its checksum matches: (body range, next offset).
    static func frame(in bytes: UnsafeRawBufferPointer, at offset: Int) -> (Range<Int>, Int)? {
        guard offset + WALRecord.frameHeaderSize <= bytes.count else { return nil }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let start = offset + WALRecord.frameHeaderSize
        guard length > 0, length <= WALRecord.bodySizeMax, start + length <= bytes.count else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
        guard CRC32C.checksum(body) == crc else { return nil }
        return (start..<(start + length), start + length)
    }

    static func replay(segment path: String, expected: UInt64, isLast: Bool, into s: inout State) throws(WALError) {
        let name = String(path.split(separator: "/").last!)
        let bytes = try readAll(path)
        guard let sequenceNumber = sequence(of: name) else { return }
        s.segments.append(Segment(sequence: sequenceNumber, path: path))
        let headerOK = bytes.count >= headerSize && bytes.withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) == magic
                && UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) == sequenceNumber
        }
        guard headerOK else {
            if isLast && bytes.count < headerSize {
                // A segment torn before its header was whole holds nothing: drop it.
                s.segments.removeLast()
                unlink(path)
                return
            }
            throw .corrupt(segment: name, offset: 0, reason: "bad segment header")
        }
        guard sequenceNumber == expected else {
            throw .corrupt(segment: name, offset: 0, reason: "segment \(expected) is missing before it")
        }
        var offset = headerSize
        var records: [(WALRecord, Int)] = []
        let damage: WALError? = bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                guard let (body, next) = frame(in: raw, at: offset) else {
                    let laterFrame = (offset + 1..<raw.count).contains { frame(in: raw, at: $0) != nil }
                    if isLast && !laterFrame { return nil }  // a torn tail: cut below
                    return .corrupt(segment: name, offset: offset, reason: "record fails its checksum or length")
                }
                guard let record = WALRecord.decode(body: UnsafeRawBufferPointer(rebasing: raw[body])) else {
                    return .corrupt(segment: name, offset: offset, reason: "record has a valid checksum but cannot be decoded")
                }
                records.append((record, offset))
                offset = next
            }
            return nil
        }
        if let damage { throw damage }
        for (record, at) in records { try apply(record, to: &s, segment: name, offset: at) }
        s.segmentBytes = offset
        if offset < bytes.count { try truncate(path, to: offset) }
    }

    static func truncate(_ path: String, to length: Int) throws(WALError) {
        guard Glibc.truncate(path, off_t(length)) == 0 else { throw .io(operation: "truncate", path: path, code: errno) }
    }

    /// Replays one record into the groups' recovered state, as a replica's storage would apply it.
    static func apply(_ record: WALRecord, to s: inout State, segment: String, offset: Int) throws(WALError) {
        let g = record.group
        var group = s.groups[g] ?? RecoveredGroup()
        switch record {
        case .entry(_, let entry):
            guard entry.index > group.snapshotIndex else { break }
            if let i = group.entries.firstIndex(where: { $0.index >= entry.index }) {
                group.entries.removeSubrange(i...)  // a newer leader overwrote the tail
            }
            let expected = group.entries.last?.index.next ?? group.snapshotIndex.next
            guard entry.index == expected || (group.entries.isEmpty && group.snapshotIndex == 0) else {
                throw .corrupt(segment: segment, offset: offset, reason: "group \(g) log jumps to \(entry.index), expected \(expected)")
            }
            group.entries.append(entry)
            let last = s.segments.count - 1
            s.segments[last].entryIndexMax[g] = max(s.segments[last].entryIndexMax[g] ?? 0, entry.index)
        case .hardState(_, let hard):
            group.hardState = hard
        case .snapshot(_, let index, let term):
            if index >= group.snapshotIndex {
                group.snapshotIndex = index
                group.snapshotTerm = term
                group.entries.removeAll { $0.index <= index }
            }
        }
        s.groups[g] = group
    }
}

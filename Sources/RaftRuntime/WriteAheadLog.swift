// A segmented write-ahead log shared by any number of consensus groups.
//
// Appends go to the active segment under one lock; `sync(through:)` makes them durable with one
// fdatasync that covers every append made before it, whichever group or thread made it (group
// commit). A failed write or fsync — a full disk included — stops the log: every later call throws
// `.stopped`, so the replica above it acknowledges nothing it could lose (fsync errors are not
// retried: after a failed fsync the kernel may already have dropped the dirty pages).
//
// Each segment starts with a header and then the current hard state and snapshot marker of every
// group, so an older segment is never the only copy of them and can be deleted once the snapshots
// of all its groups cover its entries.
import Dispatch
import Raft

#if canImport(Glibc)
import Glibc
#endif
import Locks

public enum WALError: Error, Equatable, CustomStringConvertible {
    /// Damage that is not a torn tail: the log refuses to open rather than lose acknowledged writes.
    case corrupt(segment: String, offset: Int, reason: String)
    case io(operation: String, path: String, code: Int32)
    /// An earlier write or fsync failed; the log acknowledges nothing more.
    case stopped(String)

    public var description: String {
        switch self {
        case .corrupt(let segment, let offset, let reason):
            "write-ahead log \(segment) is corrupt at byte \(offset): \(reason); refusing to start"
        case .io(let operation, let path, let code): "\(operation) \(path): \(String(cString: strerror(code)))"
        case .stopped(let why): "write-ahead log stopped after a failed write or fsync (\(why)); it accepts nothing more"
        }
    }
}

/// What the log held for one group when it was opened.
public struct RecoveredGroup: Equatable, Sendable {
    public var hardState = HardState()
    public var snapshotIndex: LogIndex = 0
    public var snapshotTerm: Term = 0
    /// Entries after the snapshot, consecutive.
    public var entries: [Entry] = []
}

public final class WriteAheadLog: Sendable {
    public struct Options: Sendable {
        public var segmentSizeMax = 64 << 20
        /// Where trouble the log survives (a compacted segment it could not free) is reported.
        public var log: @Sendable (String) -> Void = { line in WriteAheadLog.writeStandardError(line + "\n") }
        public init(segmentSizeMax: Int = 64 << 20) { self.segmentSizeMax = segmentSizeMax }
    }

    static func writeStandardError(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress, $0.count - 1) }
    }

    struct Segment {
        let sequence: UInt64
        let path: String
        /// The highest entry index of each group in this segment.
        var entryIndexMax: [UInt64: LogIndex] = [:]
    }

    struct State {
        var fd: Int32 = -1
        var segmentBytes = 0
        var segments: [Segment] = []
        /// Bytes appended since open, and how many of them are known durable.
        var written: UInt64 = 0
        var synced: UInt64 = 0
        var failure: String?
        var groups: [UInt64: RecoveredGroup] = [:]
        var syncCount = 0
        var appendCount = 0
    }

    public let directory: String
    let options: Options
    let state: SanitizedMutex<State>
    /// Serialises fdatasync and segment rolls; always taken before `state`, never after.
    let syncLock = SanitizedMutex<Void>(())
    /// Test hook: when set, fdatasync calls it instead and fails with the errno it returns (0 = ok).
    let syncOverride: (@Sendable () -> Int32)?

    init(directory: String, options: Options, state: State, syncOverride: (@Sendable () -> Int32)?) {
        self.directory = directory
        self.options = options
        self.state = SanitizedMutex(state)
        self.syncOverride = syncOverride
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    /// Appends records in order and returns the log position just past them; durable only once
    /// `sync(through:)` of that position returns.
    @discardableResult
    public func append(_ records: [WALRecord]) throws(WALError) -> UInt64 {
        var frames: [UInt8] = []
        frames.reserveCapacity(records.reduce(0) { $0 + $1.frameSize })
        for record in records { record.appendFrame(to: &frames) }
        let (position, full) = try state.withLock { (s: inout State) throws(WALError) -> (UInt64, Bool) in
            if let failure = s.failure { throw .stopped(failure) }
            try Self.write(frames, to: &s, path: s.segments.last!.path)
            for record in records { Self.note(record, in: &s) }
            s.appendCount += 1
            return (s.written, s.segmentBytes >= options.segmentSizeMax)
        }
        if full { try rollSegment() }
        return position
    }

    /// Returns once every byte appended before `position` is durable.
    public func sync(through position: UInt64) throws(WALError) {
        if try state.withLock({ (s: inout State) throws(WALError) -> Bool in
            if let failure = s.failure { throw .stopped(failure) }
            return s.synced >= position
        }) { return }
        try syncLock.withLock { (_: inout Void) throws(WALError) in
            let (fd, target, done) = try state.withLock { (s: inout State) throws(WALError) -> (Int32, UInt64, Bool) in
                if let failure = s.failure { throw .stopped(failure) }
                return (s.fd, s.written, s.synced >= position)
            }
            if done { return }  // another caller's fdatasync covered us: that is the group commit
            let code = syncOverride?() ?? (fdatasync(fd) == 0 ? 0 : errno)
            try state.withLock { (s: inout State) throws(WALError) in
                if code != 0 {
                    s.failure = "fdatasync: \(String(cString: strerror(code)))"
                    throw .stopped(s.failure!)
                }
                s.synced = max(s.synced, target)
                s.syncCount += 1
            }
        }
    }

    public func appendAndSync(_ records: [WALRecord]) throws(WALError) {
        try sync(through: append(records))
    }

    /// Records that `group`'s snapshot covers its log through `index`, then deletes every segment
    /// whose entries all lie inside the snapshots of their groups.
    public func compact(group: UInt64, through index: LogIndex, term: Term) throws(WALError) {
        try appendAndSync([.snapshot(group: group, index: index, term: term)])
        // Claimed and renamed under the lock, so concurrent compactions of different groups
        // cannot interleave their renames and leave a gap in the run of live segments.
        let freed = state.withLock { s -> [String] in
            let active = s.segments.count - 1
            var freed: [String] = []
            // Only a prefix of covered segments goes: recovery requires consecutive sequence numbers.
            for segment in s.segments.prefix(max(0, active)) {
                let covered = segment.entryIndexMax.allSatisfy { g, maxIndex in maxIndex <= (s.groups[g]?.snapshotIndex ?? 0) }
                guard covered else { break }
                // Renamed first (cheap, atomic; oldest first): recovery only reads `*.wal`, so a
                // crash while a segment is being freed never leaves a damaged live segment.
                guard rename(segment.path, segment.path + ".free") == 0 else {
                    // Kept, and every later one with it: freeing a later one would leave a gap.
                    options.log("write-ahead log: cannot rename compacted segment \(segment.path) "
                        + "(\(String(cString: strerror(errno)))); it stays until a later compaction")
                    break
                }
                freed.append(segment.path + ".free")
            }
            s.segments.removeFirst(freed.count)
            return freed
        }
        guard !freed.isEmpty else { return }
        // Unlinking a full 64 MiB segment took 170–200 ms on this machine's ext4: done on a serial
        // queue, oldest first, so the group loop does not stall and what remains on disk after a
        // crash is still a consecutive run of segments (replay skips what snapshots cover).
        let (directory, log) = (directory, options.log)
        Self.reaper.async {
            // The renames must be durable before any truncation: a crash could otherwise bring
            // back a `.wal` name on a file already cut short, and recovery would refuse it.
            do {
                try Self.syncDirectory(directory)
            } catch {
                log("write-ahead log: \(error); compacted segments are freed at the next start instead")
                return
            }
            for path in freed { Self.release(path) }
        }
    }

    /// Waits until every compacted segment is freed (tests, shutdown).
    public func waitForReleases() { Self.reaper.sync {} }

    /// Frees a segment's blocks a few MiB at a time before unlinking it: freeing 64 MiB at once
    /// made every fdatasync in the process wait ~200 ms (here: ext4 mounted with `discard`). 2 MiB per
    /// 10 ms (~200 MB/s, far above any write rate the log sustains) rather than per 1 ms: 4 KiB puts
    /// at 64 clients had p99 24–32 ms with the faster pace, 14–16 ms with this one.
    static func release(_ path: String) {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            var info = stat()
            if fstat(fd, &info) == 0 {
                var size = Int(info.st_size)
                while size > 0 {
                    size = max(0, size - (2 << 20))
                    _ = ftruncate(fd, off_t(size))
                    usleep(10_000)
                }
            }
            close(fd)
        }
        unlink(path)
    }

    static let reaper = DispatchQueue(label: "kura.wal.reaper", qos: .utility)

    public struct Statistics: Sendable, Equatable {
        public var appends: Int
        public var syncs: Int
        public var segments: Int
    }

    public var statistics: Statistics {
        state.withLock { Statistics(appends: $0.appendCount, syncs: $0.syncCount, segments: $0.segments.count) }
    }

    // MARK: internals

    static let magic: UInt64 = 0x314C_4157_4152_554B  // "KURAWAL1"
    static let headerSize = 16

    static func segmentName(_ sequence: UInt64) -> String {
        let hex = String(sequence, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + ".wal"
    }

    /// Tracks what replay would reconstruct, so a new segment can restate it and compaction knows
    /// which segments are covered.
    static func note(_ record: WALRecord, in s: inout State) {
        switch record {
        case .entry(let g, let entry):
            let last = s.segments.count - 1
            s.segments[last].entryIndexMax[g] = max(s.segments[last].entryIndexMax[g] ?? 0, entry.index)
        case .hardState(let g, let hard):
            s.groups[g, default: RecoveredGroup()].hardState = hard
        case .snapshot(let g, let index, let term):
            var group = s.groups[g] ?? RecoveredGroup()
            if index >= group.snapshotIndex {
                group.snapshotIndex = index
                group.snapshotTerm = term
            }
            s.groups[g] = group
        }
    }

    static func write(_ bytes: [UInt8], to s: inout State, path: String) throws(WALError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(s.fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let code = n < 0 ? errno : ENOSPC
                s.failure = "write \(path): \(String(cString: strerror(code)))"
                throw .stopped(s.failure!)
            }
            done += n
        }
        s.segmentBytes += bytes.count
        s.written += UInt64(bytes.count)
    }

    /// Closes the active segment durably and starts the next, restating every group's hard state
    /// and snapshot marker at its head.
    func rollSegment() throws(WALError) {
        try syncLock.withLock { (_: inout Void) throws(WALError) in
            try state.withLock { (s: inout State) throws(WALError) in
                if let failure = s.failure { throw .stopped(failure) }
                guard s.segmentBytes >= options.segmentSizeMax else { return }
                let code = syncOverride?() ?? (fdatasync(s.fd) == 0 ? 0 : errno)
                if code != 0 {
                    s.failure = "fdatasync: \(String(cString: strerror(code)))"
                    throw .stopped(s.failure!)
                }
                s.synced = s.written
                close(s.fd)
                s.fd = -1
                do {
                    try Self.startSegment(directory: directory, sequence: s.segments.last!.sequence + 1, state: &s)
                } catch {
                    // No usable segment: stop for good, or the next append would write to a closed
                    // (and perhaps reused) descriptor.
                    if s.fd >= 0 { close(s.fd) }
                    s.fd = -1
                    if s.failure == nil { s.failure = "starting the next segment: \(error)" }
                    throw .stopped(s.failure!)
                }
            }
        }
    }

    static func startSegment(directory: String, sequence: UInt64, state s: inout State) throws(WALError) {
        let path = directory + "/" + segmentName(sequence)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: path, code: errno) }
        s.fd = fd
        s.segmentBytes = 0
        s.segments.append(Segment(sequence: sequence, path: path))
        var head: [UInt8] = []
        head.putU64(magic)
        head.putU64(sequence)
        for g in s.groups.keys.sorted() {
            let group = s.groups[g]!
            WALRecord.hardState(group: g, group.hardState).appendFrame(to: &head)
            if group.snapshotIndex > 0 {
                WALRecord.snapshot(group: g, index: group.snapshotIndex, term: group.snapshotTerm).appendFrame(to: &head)
            }
        }
        try write(head, to: &s, path: path)
        // The restated head must be durable before the previous segment may ever be deleted.
        guard fdatasync(fd) == 0 else { throw .io(operation: "fdatasync", path: path, code: errno) }
        s.synced = s.written
        try syncDirectory(directory)
    }

    static func syncDirectory(_ directory: String) throws(WALError) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: directory, code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: directory, code: errno) }
    }
}

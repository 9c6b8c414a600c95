// The write-ahead log on real files: what was synced comes back after a reopen, a torn tail is cut,
// a flipped bit in the middle is refused with its place named, a simulated power cut loses only
// writes that were never synced, one fdatasync covers many appends, a failed fsync stops the log,
// and compaction deletes only segments every group's snapshot covers.
import Foundation
import Raft
@testable import RaftRuntime
import Synchronization
import Testing
import Locks

@Suite struct WriteAheadLogTests {
    final class Directory {
        let path = NSTemporaryDirectory() + "kura-wal-" + UUID().uuidString
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var segments: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".wal") }.sorted() }
        func bytes(_ name: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path + "/" + name) ?? Data()) }
        func write(_ name: String, _ bytes: [UInt8]) { FileManager.default.createFile(atPath: path + "/" + name, contents: Data(bytes)) }
    }

    func entries(_ range: ClosedRange<UInt64>, term: UInt64, group: UInt64 = 1) -> [WALRecord] {
        range.map { .entry(group: group, Entry(term: Term(term), index: LogIndex($0), payload: .command(Array("cmd-\($0)".utf8)))) }
    }

    func indexes(_ group: RecoveredGroup?) -> [UInt64] { group?.entries.map(\.index.rawValue) ?? [] }

    @Test func syncedRecordsSurviveAReopen() throws {
        let dir = Directory()
        do {
            let (wal, groups) = try WriteAheadLog.open(directory: dir.path)
            #expect(groups.isEmpty)
            try wal.appendAndSync(entries(1...5, term: 1) + [.hardState(group: 1, HardState(term: 1, vote: 2, commit: 3))])
            try wal.appendAndSync(entries(1...2, term: 4, group: 9) + [.entry(group: 1, Entry(term: 1, index: 6, payload: .configuration(.addLearner(7))))])
        }
        let (_, groups) = try WriteAheadLog.open(directory: dir.path)
        #expect(indexes(groups[1]) == [1, 2, 3, 4, 5, 6])
        #expect(groups[1]?.hardState == HardState(term: 1, vote: 2, commit: 3))
        #expect(groups[1]?.entries.last?.payload == .configuration(.addLearner(7)))
        #expect(indexes(groups[9]) == [1, 2])
        #expect(groups[9]?.entries.first?.term == 4)
    }

    @Test func aNewLeaderOverwritesTheTail() throws {
        let dir = Directory()
        do {
            let (wal, _) = try WriteAheadLog.open(directory: dir.path)
            try wal.appendAndSync(entries(1...10, term: 1))
            try wal.appendAndSync(entries(5...7, term: 2))
        }
        let (_, groups) = try WriteAheadLog.open(directory: dir.path)
        #expect(indexes(groups[1]) == [1, 2, 3, 4, 5, 6, 7])
        #expect(groups[1]?.entries.map(\.term.rawValue) == [1, 1, 1, 1, 2, 2, 2])
    }

    @Test(arguments: [1, 5, 13, 30])
    func tornTailIsCutAndTheLogGoesOn(cut: Int) throws {
        let dir = Directory()
        do {
            let (wal, _) = try WriteAheadLog.open(directory: dir.path)
            try wal.appendAndSync(entries(1...3, term: 1))
            try wal.appendAndSync(entries(4...4, term: 1))
        }
        let name = dir.segments.last!
        let whole = dir.bytes(name)
        dir.write(name, Array(whole.dropLast(cut)))  // the last record reached the disk only in part
        do {
            let (wal, groups) = try WriteAheadLog.open(directory: dir.path)
            #expect(indexes(groups[1]) == [1, 2, 3])
            try wal.appendAndSync(entries(4...5, term: 2))
        }
        let (_, groups) = try WriteAheadLog.open(directory: dir.path)
        #expect(indexes(groups[1]) == [1, 2, 3, 4, 5])
    }

    @Test func garbageAfterTheLastRecordIsATornTail() throws {
        let dir = Directory()
        do {
            let (wal, _) = try WriteAheadLog.open(directory: dir.path)
            try wal.appendAndSync(entries(1...3, term: 1))
        }
        let name = dir.segments.last!
        dir.write(name, dir.bytes(name) + [0x30, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3] + [UInt8](repeating: 0, count: 100))
        let (_, groups) = try WriteAheadLog.open(directory: dir.path)
        #expect(indexes(groups[1]) == [1, 2, 3])
    }

    @Test func aFlippedBitInTheMiddleIsRefused() throws {
        let dir = Directory()
        do {
            let (wal, _) = try WriteAheadLog.open(directory: dir.path)
            for i in 1...5 as ClosedRange<UInt64> { try wal.appendAndSync(entries(i...i, term: 1)) }
        }
        let name = dir.segments.last!
        var bytes = dir.bytes(name)
        let victim = WriteAheadLog.headerSize + 8 + 40  // inside the second record (after the empty head)
        bytes[victim] ^= 0x10
        dir.write(name, bytes)
        #expect {
            try WriteAheadLog.open(directory: dir.path)
        } throws: { error in
            guard case .corrupt(let segment, _, let reason) = error as? WALError else { return false }
            return segment == name && reason.contains("checksum")
        }
    }

    /// A power cut keeps every synced byte and an arbitrary prefix of the unsynced ones: recovery
    /// must return every synced record and a prefix of the rest, never anything out of order.
    @Test(arguments: 0..<20)
    func powerCutLosesOnlyUnsyncedWrites(seed: Int) throws {
        let dir = Directory()
        let syncedLength: Int
        let name: String
        do {
            let (wal, _) = try WriteAheadLog.open(directory: dir.path)
            try wal.appendAndSync(entries(1...20, term: 1) + [.hardState(group: 1, HardState(term: 1, vote: 1, commit: 20))])
            name = dir.segments.last!
            syncedLength = dir.bytes(name).count
            try wal.append(entries(21...40, term: 1))  // never synced
        }
        var generator = SystemRandomNumberGenerator()
        let full = dir.bytes(name)
        let kept = syncedLength + Int.random(in: 0...(full.count - syncedLength), using: &generator)
        var survivor = Array(full.prefix(kept))
        if seed % 2 == 1 { survivor += (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        dir.write(name, survivor)
        let (_, groups) = try WriteAheadLog.open(directory: dir.path)
        let recovered = indexes(groups[1])
        #expect(recovered.count >= 20)
        #expect(recovered == Array(1...UInt64(recovered.count)))
        #expect(groups[1]?.hardState.commit == 20)
    }

    @Test func oneFsyncCoversManyAppends() throws {
        let dir = Directory()
        // A slow disk (2 ms per fdatasync): appends made while one sync runs ride on the next.
        let (wal, _) = try WriteAheadLog.open(directory: dir.path, syncOverride: { usleep(2000); return 0 })
        let finished = DispatchSemaphore(value: 0)
        for group in 1...8 as ClosedRange<UInt64> {
            let records = (1...50 as ClosedRange<UInt64>).map { entries($0...$0, term: 1, group: group) }
            Thread {
                for batch in records { try! wal.appendAndSync(batch) }
                finished.signal()
            }.start()
        }
        for _ in 1...8 { finished.wait() }
        let statistics = wal.statistics
        #expect(statistics.appends == 400)
        #expect(statistics.syncs < statistics.appends / 2, "\(statistics.syncs) fdatasyncs for \(statistics.appends) appends")
        let (_, groups) = try WriteAheadLog.open(directory: dir.path)
        for g in 1...8 as ClosedRange<UInt64> { #expect(indexes(groups[g]) == Array(1...50)) }
    }

    @Test func aFailedFsyncStopsTheLog() throws {
        let dir = Directory()
        let fail = Atomic<Bool>(false)
        let (wal, _) = try WriteAheadLog.open(directory: dir.path, syncOverride: { fail.load(ordering: .relaxed) ? EIO : 0 })
        try wal.appendAndSync(entries(1...2, term: 1))
        fail.store(true, ordering: .relaxed)
        #expect(throws: WALError.stopped("fdatasync: Input/output error")) { try wal.appendAndSync(entries(3...3, term: 1)) }
        fail.store(false, ordering: .relaxed)
        // Even with the disk healthy again, nothing more is acknowledged.
        #expect(throws: WALError.self) { try wal.appendAndSync(entries(4...4, term: 1)) }
    }

    /// A segment roll that cannot create the next segment (here its name is taken by a
    /// directory) stops the log: no append may reach the closed descriptor of the old one.
    @Test func aFailedSegmentRollStopsTheLog() throws {
        let dir = Directory()
        let (wal, _) = try WriteAheadLog.open(directory: dir.path, options: .init(segmentSizeMax: 400))
        try FileManager.default.createDirectory(atPath: dir.path + "/" + WriteAheadLog.segmentName(1), withIntermediateDirectories: false)
        var rolled = false
        for i in 1...40 as ClosedRange<UInt64> {
            do {
                try wal.appendAndSync(entries(i...i, term: 1))
            } catch {
                rolled = true
                guard case .stopped(let why) = error else { Issue.record("unexpected \(error)"); break }
                #expect(why.contains("create") && why.contains(WriteAheadLog.segmentName(1)), "\(why)")
                break
            }
        }
        #expect(rolled, "the log never tried to roll")
        #expect(wal.state.withLock { $0.fd } == -1)
        #expect {
            try wal.appendAndSync(entries(41...41, term: 1))
        } throws: { error in
            guard case .stopped(let why) = error as? WALError else { return false }
            return why.contains("create")  // the first cause, not a write to a dead descriptor
        }
    }

    @Test func compactionDeletesOnlyCoveredSegments() throws {
        let dir = Directory()
        do {
            let (wal, _) = try WriteAheadLog.open(directory: dir.path, options: .init(segmentSizeMax: 400))
            for i in 1...60 as ClosedRange<UInt64> {
                try wal.appendAndSync(entries(i...i, term: 1) + entries(i...i, term: 1, group: 2))
                if i == 30 { try wal.appendAndSync([.hardState(group: 1, HardState(term: 3, vote: 1, commit: 30))]) }
            }
            let before = dir.segments.count
            #expect(before > 5)
            try wal.compact(group: 1, through: 40, term: 1)
            #expect(dir.segments.count == before, "group 2 still needs every segment")
            try wal.compact(group: 2, through: 50, term: 1)
            wal.waitForReleases()
            #expect(dir.segments.count < before)
        }
        // A crash while a compacted segment was being freed leaves a damaged `.wal.free` file:
        // it must neither stop the start nor stay behind.
        let leftover = dir.path + "/0000000000000000.wal.free"
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data([1, 2, 3])))
        let (reopened, groups) = try WriteAheadLog.open(directory: dir.path)
        reopened.waitForReleases()
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(indexes(groups[1]) == Array(41...60))
        #expect(indexes(groups[2]) == Array(51...60))
        #expect(groups[1]?.snapshotIndex == 40)
        #expect(groups[1]?.hardState == HardState(term: 3, vote: 1, commit: 30))
    }

    /// A covered segment that cannot be renamed (here a non-empty directory holds its `.free`
    /// name) is kept, and so is every later one: the live segments on disk stay a consecutive run.
    @Test func aSegmentThatCannotBeRenamedIsKept() throws {
        let dir = Directory()
        let logged = SanitizedMutex<[String]>([])
        var options = WriteAheadLog.Options(segmentSizeMax: 400)
        options.log = { line in logged.withLock { $0.append(line) } }
        let blocker = dir.path + "/" + WriteAheadLog.segmentName(0) + ".free"
        do {
            let (wal, _) = try WriteAheadLog.open(directory: dir.path, options: options)
            for i in 1...40 as ClosedRange<UInt64> { try wal.appendAndSync(entries(i...i, term: 1)) }
            let before = dir.segments
            #expect(before.count > 4)
            try FileManager.default.createDirectory(atPath: blocker + "/x", withIntermediateDirectories: true)
            try wal.compact(group: 1, through: 30, term: 1)
            wal.waitForReleases()
            #expect(dir.segments == before, "nothing freed while the oldest segment stays")
            #expect(logged.withLock { $0 }.contains { $0.contains(WriteAheadLog.segmentName(0)) && $0.contains("rename") })
            #expect(wal.statistics.segments == before.count)

            try FileManager.default.removeItem(atPath: blocker)
            try wal.compact(group: 1, through: 30, term: 1)
            wal.waitForReleases()
            #expect(dir.segments.count < before.count)
            #expect(dir.segments.first != WriteAheadLog.segmentName(0))
        }
        let (_, groups) = try WriteAheadLog.open(directory: dir.path)
        #expect(indexes(groups[1]) == Array(31...40))
    }

    @Test func crc32cKnownAnswer() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        // The hardware path (when present) and the table agree on every length and alignment.
        var bytes = [UInt8](repeating: 0, count: 300)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 37 &+ 11) }
        for start in 0..<9 {
            for end in stride(from: start, through: bytes.count, by: 7) {
                bytes[start..<end].withUnsafeBytes { raw in
                    #expect(CRC32C.checksum(raw, seed: 5) == CRC32C.software(raw, seed: 5))
                }
            }
        }
    }
}

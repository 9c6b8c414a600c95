// kura-bench tables: the memory tier on 1M rows, one thread, each figure beside a plain
// `Dictionary` under a `Mutex` doing the same job in the same run (for index and range figures the
// peer also keeps a hand-made secondary structure). Ends with a 2-thread figure.
// Options: --rows N (default 1_000_000); --only NAME,… (e.g. get,put,memory-miss) for profiling;
// --small-pages measures on 4 KiB pages (by default the suite re-runs itself on transparent huge
// pages, GLIBC_TUNABLES=glibc.malloc.hugetlb=1, the memory tier's deployment setting); --indexes
// hash|ordered|none keeps only those.
// memory-miss is one dependent load in 64 MiB, the unit the other figures are made of.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Tables
import struct Raft.SplitMix64

enum TablesSuite {
    struct BenchRow: TableRecord {
        var id: Int64
        var owner: Int64  // hash index, ~10 rows per value
        var score: Int64  // ordered index
        var zone: Int32  // filtered scans: 1% per zone
        var flags: UInt32
        var x: Float, y: Float, z: Float
        var key: Int64 { id }
    }

    static let owner = Column<BenchRow>("owner", \.owner)
    static let score = Column<BenchRow>("score", \.score)
    static let schema = TableSchema<BenchRow>(name: "bench", indexes: [IndexSpec(owner, .hash), IndexSpec(score, .ordered)])

    /// Raft's SplitMix64, drawing Int64 keys.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func below(_ n: Int) -> Int64 { Int64(generator.below(n)) }
    }

    /// Never read in this suite (no record has a TTL); the table only needs one to exist.
    struct MonotonicClock: TableClock {
        func now() -> TableInstant {
            var t = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t)
            return TableInstant(nanoseconds: Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec))
        }
    }

    /// The peer: rows in a Dictionary under a Mutex, plus owner → ids and a sorted (score, id) list.
    final class Peer: Sendable {
        struct State {
            var rows: [Int64: BenchRow] = [:]
            var byOwner: [Int64: [Int64]] = [:]
            var byScore: [(score: Int64, id: Int64)] = []
        }
        let state = Mutex(State())
    }

    static func row(_ id: Int64, _ random: inout Random, rows: Int) -> BenchRow {
        BenchRow(id: id, owner: random.below(rows / 10), score: random.below(rows), zone: Int32(random.below(100)),
                 flags: 0, x: 1, y: 2, z: 3)
    }

    /// Sorted wall nanoseconds of `body` on each of `rows`, one at a time.
    static func latencies(_ rows: [BenchRow], _ body: (BenchRow) -> Void) -> [Double] {
        var times: [Double] = []
        times.reserveCapacity(rows.count)
        var last = Clock.wall()
        for r in rows {
            body(r)
            let now = Clock.wall()
            times.append((now - last) * 1e9)
            last = now
        }
        return times.sorted()
    }

    /// CPU nanoseconds per operation of `body`, which performs `count` operations.
    static func measure(_ count: Int, _ body: () -> Void) -> Double {
        let start = Clock.threadCPU()
        body()
        return (Clock.threadCPU() - start) * 1e9 / Double(count)
    }

    static func run(_ report: inout Report, _ arguments: [String]) throws {
        var rows = 1_000_000
        if let i = arguments.firstIndex(of: "--rows"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) { rows = n }
        precondition(rows >= 1000, "--rows must be at least 1000")
        // Transparent huge pages unless --small-pages: glibc's tunable makes malloc ask for them
        // (madvise) on the blocks it maps, and is read at start-up, hence the re-exec. Records and
        // index entries sit at random addresses across hundreds of MiB, where 4 KiB pages add TLB
        // misses; in round 6's quiet runs the two page sizes measured close (BENCHMARKS.md). Both
        // the table and its peer run on the same pages in the same process.
        if !arguments.contains("--small-pages"), getenv("GLIBC_TUNABLES") == nil {
            setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            fatalError("kura-bench tables: execv for huge pages failed, errno \(errno)")
        }
        // --only NAME[,NAME…] runs just those figures (the load always runs), e.g. for profiling.
        let only = arguments.firstIndex(of: "--only").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
            .map { Set($0.split(separator: ",").map(String.init)) }
        func wanted(_ name: String) -> Bool { only?.contains(name) ?? true }
        report.note("tables: \(rows) rows of \(MemoryLayout<BenchRow>.size) bytes; hash index on owner (~10 rows/value), ordered index on score; CPU time per op")

        // --indexes hash|ordered|none: the same run with fewer indexes, to split a figure's cost.
        var indexes = schema.indexes
        if let i = arguments.firstIndex(of: "--indexes") {
            let kinds: [String: IndexKind?] = ["hash": .hash, "ordered": .ordered, "none": nil]
            guard i + 1 < arguments.count, let kind = kinds[arguments[i + 1]] else {
                throw BenchError("--indexes takes hash, ordered or none")
            }
            indexes = indexes.filter { $0.kind == kind }
            report.note("indexes: \(indexes.map(\.name))")
        }
        let table = Table(TableSchema<BenchRow>(name: "bench", indexes: indexes), clock: MonotonicClock())
        let peer = Peer()
        var random = Random(state: 1)
        let load = (0..<rows).map { row(Int64($0), &random, rows: rows) }

        let insertTable = measure(rows) { for r in load { try! table.insert(r) } }
        let insertPeer = measure(rows) {
            for r in load {
                peer.state.withLock { s in
                    s.rows[r.id] = r
                    s.byOwner[r.owner, default: []].append(r.id)
                }
            }
            peer.state.withLock { s in s.byScore = s.rows.values.map { ($0.score, $0.id) }.sorted { $0 < $1 } }
        }
        report.add("insert", insertTable, "ns", peer: "dictionary+mutex", peerValue: insertPeer)
        let tunables = getenv("GLIBC_TUNABLES").map { String(cString: $0) } ?? "unset"
        report.note("pages: GLIBC_TUNABLES=\(tunables); \(anonHugePages() / 1024) MiB of anonymous memory on huge pages after the load")

        let n = min(rows, 1_000_000)
        let keys = (0..<n).map { _ in random.below(rows) }
        var sink: Int64 = 0
        if wanted("get") {
        let getTable = measure(n) { for k in keys { sink &+= table.get(k)!.score } }
        let getPeer = measure(n) { for k in keys { sink &+= peer.state.withLock { $0.rows[k]! }.score } }
        report.add("get", getTable, "ns", peer: "dictionary+mutex", peerValue: getPeer)
        }

        let updates = (0..<n).map { _ in row(random.below(rows), &random, rows: rows) }
        if wanted("put") {
        let putTable = measure(n) { for r in updates { try! table.upsert(r) } }
        let putPeer = measure(n) { for r in updates { peer.state.withLock { $0.rows[r.id] = r } } }
        report.add("put", putTable, "ns", peer: "dictionary+mutex (no index)", peerValue: putPeer)
        }
        if wanted("put-latency") {
            // Per-write wall time: the mean above hides the writes that apply a batch of held-back
            // moves or split a leaf. Each write is timed alone (a clock read costs ~20 ns of it).
            let timed = (0..<min(n, 200_000)).map { _ in row(random.below(rows), &random, rows: rows) }
            let tableTimes = latencies(timed) { try! table.upsert($0) }
            let peerTimes = latencies(timed) { r in peer.state.withLock { $0.rows[r.id] = r } }
            for (name, q) in [("put-p50", 0.5), ("put-p99", 0.99), ("put-p999", 0.999), ("put-max", 1.0)] {
                report.add(name, percentile(tableTimes, q), "ns", peer: "dictionary+mutex (no index)", peerValue: percentile(peerTimes, q))
            }
        }
        if wanted("put-same-index-values") {
            // The common game-state write: position and flags change, indexed columns do not.
            let moves = (0..<n).map { _ in random.below(rows) }
            let moveTable = measure(n) {
                for k in moves { try! table.modify(k) { $0.x += 1; $0.flags &+= 1 } }
            }
            let movePeer = measure(n) {
                for k in moves { peer.state.withLock { $0.rows[k]!.x += 1; $0.rows[k]!.flags &+= 1 } }
            }
            report.add("put-same-index-values", moveTable, "ns", peer: "dictionary+mutex", peerValue: movePeer)
        }

        let probes = 100_000
        let owners = (0..<probes).map { _ in random.below(rows / 10) }
        var found = 0
        if wanted("index-lookup") {
        let lookupTable = measure(probes) {
            for o in owners { found += try! table.select(Query(.equal(owner, .int(o)))).count }
        }
        let lookupPeer = measure(probes) {
            for o in owners {
                found += peer.state.withLock { s in (s.byOwner[o] ?? []).map { s.rows[$0]! } }.count
            }
        }
        report.add("index-lookup", lookupTable, "ns", peer: "dictionary+mutex+owner map", peerValue: lookupPeer)
        report.note("index-lookup: \(Double(found) / Double(2 * probes)) rows per probe (the peer's owner map is not kept up to date by put)")
        }

        let width: Int64 = 1000
        let scans = 2000
        let starts = (0..<scans).map { _ in random.below(rows - Int(width)) }
        var scanned = 0
        if wanted("range-scan-per-row") {
        let rangeTable = measure(1) {
            for s in starts {
                scanned += try! table.select(Query(.range(score, lower: Bound(.int(s), inclusive: true),
                                                          upper: Bound(.int(s + width), inclusive: false)))).count
            }
        } / Double(max(scanned, 1))
        var peerScanned = 0
        let rangePeer = measure(1) {
            for s in starts {
                peerScanned += peer.state.withLock { state in
                    var low = 0
                    var high = state.byScore.count
                    while low < high {
                        let mid = (low + high) / 2
                        if state.byScore[mid].score < s { low = mid + 1 } else { high = mid }
                    }
                    var out: [BenchRow] = []
                    while low < state.byScore.count && state.byScore[low].score < s + width {
                        out.append(state.rows[state.byScore[low].id]!)
                        low += 1
                    }
                    return out
                }.count
            }
        } / Double(max(peerScanned, 1))
        report.add("range-scan-per-row", rangeTable, "ns", peer: "dictionary+mutex+sorted array", peerValue: rangePeer)
        }

        let filters = 10
        var matched = 0
        if wanted("filtered-scan-per-row") {
        let scanTable = measure(filters * rows) {
            for z in 0..<filters {
                let zone = Int32(z)
                matched += try! table.select(Query(.test { $0.zone == zone })).count
            }
        }
        let scanPeer = measure(filters * rows) {
            for z in 0..<filters {
                let zone = Int32(z)
                matched += peer.state.withLock { s in s.rows.values.filter { $0.zone == zone } }.count
            }
        }
        report.add("filtered-scan-per-row", scanTable, "ns", peer: "dictionary+mutex", peerValue: scanPeer)
        }

        if wanted("put-indexed-peer") {
            // Fresh writes (a generator of its own, so the figures above draw the keys they always
            // did), beside a peer that keeps the same indexes (see IndexedPeer). Last of the
            // one-thread figures: the table has had more writes from here on.
            let keeps = Set(indexes.map(\.kind))
            let current = (0..<rows).map { table.get(Int64($0))! }
            let indexed = IndexedPeer(current, keepsOwner: keeps.contains(.hash), keepsScore: keeps.contains(.ordered))
            var own = Random(state: 2)
            let again = (0..<n).map { _ in row(own.below(rows), &own, rows: rows) }
            let putTable = measure(n) { for r in again { try! table.upsert(r) } }
            let putPeer = measure(n) { for r in again { indexed.put(r) } }
            let sample = again.prefix(200).map(\.id)
            guard indexed.agrees(with: table, keys: sample, rows: rows),
                  tableIndexesAgree(table, sample, hash: keeps.contains(.hash), ordered: keeps.contains(.ordered)) else {
                throw BenchError("put-indexed-peer: the peer and the table disagree after the same writes")
            }
            report.add("put-indexed-peer", putTable, "ns", peer: "dictionary+mutex+owner map+absl::btree_set (same indexes)",
                       peerValue: putPeer)
        }

        if wanted("memory-miss") {
            report.add("memory-miss", dependentMiss(&random), "ns")
            report.note("memory-miss: one dependent load at a random place in 64 MiB (a pointer chase), the unit of the figures above")
        }

        if wanted("get-2-threads") || wanted("mixed-2-threads") {
        let (tableTwo, peerTwo) = twoThreads(table, peer, rows: rows)
        report.add("get-2-threads", tableTwo.get, "ns", peer: "dictionary+mutex", peerValue: peerTwo.get)
        report.add("mixed-2-threads", tableTwo.mixed, "ns", peer: "dictionary+mutex (no index)", peerValue: peerTwo.mixed)
        report.note("2-thread figures: wall ns per operation over both threads; mixed = 90% get, 10% put")
        }
        if sink == 42 || matched < 0 { report.note("") }  // keep results alive
    }
}

extension TablesSuite {
    /// KiB of this process's anonymous memory on transparent huge pages (0 if unknown).
    static func anonHugePages() -> Int {
        guard let file = fopen("/proc/self/smaps_rollup", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if text.hasPrefix("AnonHugePages:") { return Int(text.split(separator: " ")[1]) ?? 0 }
        }
        return 0
    }

    /// CPU ns per step of a chase through one random cycle over 16M `Int32`s (Sattolo's shuffle),
    /// so each load's address depends on the previous load: the cost of one cache and TLB miss.
    static func dependentMiss(_ random: inout Random) -> Double {
        let size = 1 << 24
        var next = [Int32](unsafeUninitializedCapacity: size) { buffer, count in
            for i in 0..<size { buffer[i] = Int32(i) }
            count = size
        }
        var i = size - 1
        while i > 0 {
            let j = Int(random.below(i))
            next.swapAt(i, j)
            i -= 1
        }
        let steps = 2_000_000
        var at: Int32 = 0
        let ns = measure(steps) { next.withUnsafeBufferPointer { for _ in 0..<steps { at = $0[Int(at)] } } }
        return at == -1 ? 0 : ns
    }

    final class ThreadBody: @unchecked Sendable {  // handed to exactly one pthread, which owns it
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs `body(i)` on `count` threads at once and returns the wall time in seconds.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Double {
        let start = Clock.wall()
        var threads: [pthread_t] = []
        for i in 0..<count {
            let context = Unmanaged.passRetained(ThreadBody { body(i) }).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, context)
            precondition(status == 0, "pthread_create failed: \(status)")
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
        return Clock.wall() - start
    }

    static func twoThreads(
        _ table: Table<BenchRow>, _ peer: Peer, rows: Int
    ) -> (table: (get: Double, mixed: Double), peer: (get: Double, mixed: Double)) {
        let perThread = 1_000_000
        let total = Double(2 * perThread)
        let getTable = onThreads(2) { i in
            var random = Random(state: UInt64(10 + i))
            var sink: Int64 = 0
            for _ in 0..<perThread { sink &+= table.get(random.below(rows))?.score ?? 0 }
            if sink == 42 { print("") }
        }
        let getPeer = onThreads(2) { i in
            var random = Random(state: UInt64(10 + i))
            var sink: Int64 = 0
            for _ in 0..<perThread {
                let k = random.below(rows)
                sink &+= peer.state.withLock { $0.rows[k]?.score } ?? 0
            }
            if sink == 42 { print("") }
        }
        let mixedTable = onThreads(2) { i in
            var random = Random(state: UInt64(20 + i))
            for _ in 0..<perThread {
                let k = random.below(rows)
                if random.below(10) == 0 { try! table.upsert(row(k, &random, rows: rows)) } else { _ = table.get(k) }
            }
        }
        let mixedPeer = onThreads(2) { i in
            var random = Random(state: UInt64(20 + i))
            for _ in 0..<perThread {
                let k = random.below(rows)
                if random.below(10) == 0 {
                    let r = row(k, &random, rows: rows)
                    peer.state.withLock { $0.rows[k] = r }
                } else {
                    _ = peer.state.withLock { $0.rows[k] }
                }
            }
        }
        return ((getTable * 1e9 / total, mixedTable * 1e9 / total), (getPeer * 1e9 / total, mixedPeer * 1e9 / total))
    }
}

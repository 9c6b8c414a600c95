// kura-bench chunks: `kura make` and `kura extract` beside `casync make` and `casync extract`, on the
// same input in the same run, each into a fresh store; plus the machine's limit for make
// (SHA-512/256 and zstd -3 per core × cores) and how close make comes to it.
//
// Options: --size-mib N (random input, default 1024), --mesh-mib N (compressible input, default 256),
// --runs N (best of N, default 2), --dir PATH (scratch space, default $TMPDIR or /tmp),
// --inputs-to DIR (only write the two inputs there, for profiling). Each figure comes twice: MB/s of
// wall time (best run) and CPU-s/GiB (user + system of all threads, best run), the latter being the
// one a shared machine does not distort.
import ChunkStores
import Chunks
import ChunksTesting
import Foundation

enum ChunksSuite {
    struct Options {
        var randomMiB = 1024
        var meshMiB = 256
        var runs = 2
        var directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        /// Only write the inputs (random.bin, mesh.bin) into this directory and stop: for profiling.
        var inputsTo: String?

        init(_ arguments: [String]) throws {
            var rest = arguments[...]
            while let flag = rest.popFirst() {
                guard let value = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
                switch flag {
                case "--size-mib": randomMiB = try Self.int(flag, value)
                case "--mesh-mib": meshMiB = try Self.int(flag, value)
                case "--runs": runs = try Self.int(flag, value)
                case "--dir": directory = value
                case "--inputs-to": inputsTo = value
                default: throw BenchError("unknown option \(flag)")
                }
            }
        }

        static func int(_ flag: String, _ value: String) throws -> Int {
            guard let n = Int(value), n >= 0 else { throw BenchError("\(flag) takes a number, got \(value)") }
            return n
        }
    }

    static func run(_ report: inout Report, _ arguments: [String]) throws {
        let options = try Options(arguments)
        if let inputsTo = options.inputsTo {
            try Data(randomBytes(options.randomMiB << 20, seed: 1)).write(to: URL(fileURLWithPath: inputsTo + "/random.bin"))
            try Data(meshLikeBytes(options.meshMiB << 20, seed: 2)).write(to: URL(fileURLWithPath: inputsTo + "/mesh.bin"))
            return
        }
        let kura = try Tools.sibling("kura")
        let casync = "/usr/bin/casync"
        guard FileManager.default.isExecutableFile(atPath: casync) else { throw BenchError("casync not found at \(casync)") }
        let work = options.directory + "/kura-bench-chunks-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { Tools.removeTree(work) }
        report.note("cpus \(ProcessInfo.processInfo.activeProcessorCount), load \(Tools.loadAverage()), runs \(options.runs) (best), kura \(kura)")
        let hasher = ChunkHasher(.sha512_256)
        report.note("SHA-512/256 through \(hasher.usesOpenSSL ? "OpenSSL libcrypto.so.3" : "swift-crypto (BoringSSL)")"
            + (hasher.usesLanes ? ", and eight chunks at a time through AVX-512 lanes" : ""))

        let limit = machineLimit(&report)
        for (label, mib, generate) in [
            ("random", options.randomMiB, { (n: Int) in randomBytes(n, seed: 1) }),
            ("mesh", options.meshMiB, { (n: Int) in meshLikeBytes(n, seed: 2) }),
        ] where mib > 0 {
            let input = work + "/\(label).bin"
            try Data(generate(mib << 20)).write(to: URL(fileURLWithPath: input))
            _ = try Tools.run("/bin/cat", [input], in: work, discardOutput: true)  // warm the page cache
            // Written to disk before any tool runs: else the first `kura make`'s syncfs writes the input too.
            sync()
            let bytes = Double(mib << 20)
            report.note("\(label): \(mib) MiB")

            var make: [String: Best] = ["kura": Best(), "casync": Best()]
            var extract = make
            // The tools take turns within each run, so both sample the same stretch of a host whose speed
            // drifts (SHA-512/256 per core measured 343–581 MB/s within one hour). Each step starts with
            // nothing dirty — sync() after it, outside the timing — so kura make's syncfs never writes
            // casync's chunks (casync make leaves its store to the kernel's writeback).
            for run in 0..<options.runs {
                for tool in ["kura", "casync"] {
                    // A new store per run, all removed at the end: ext4 without a journal (this disk) checks
                    // every inode freed in the last 30 s (recently_deleted) before reusing one, so deleting
                    // a 32k-inode store right before the next make slowed that make's file creation ~2×.
                    let store = work + "/\(label)-\(tool)-\(run).castr"
                    make[tool]!.add(tool == "kura"
                        ? try Tools.timed(kura, ["make", "-s", store, work + "/\(tool).caibx", input], in: work)
                        : try Tools.timed(casync, ["make", "--store=\(store)", work + "/\(tool).caibx", input], in: work))
                    sync()
                    let output = work + "/\(tool)-out.bin"
                    try? FileManager.default.removeItem(atPath: output)
                    extract[tool]!.add(tool == "kura"
                        ? try Tools.timed(kura, ["extract", "-s", store, work + "/\(tool).caibx", output], in: work)
                        : try Tools.timed(casync, ["extract", "--store=\(store)", work + "/\(tool).caibx", output], in: work))
                    guard try Tools.sameContents(output, input) else { throw BenchError("\(tool) extract did not rebuild \(label)") }
                    try FileManager.default.removeItem(atPath: output)
                    sync()
                }
            }
            let gib = bytes / Double(1 << 30)
            for (operation, results) in [("make", make), ("extract", extract)] {
                let (ours, theirs) = (results["kura"]!, results["casync"]!)
                report.add("\(operation)-\(label)", bytes / ours.wall / 1e6, "MB/s", peer: "casync \(operation)", peerValue: bytes / theirs.wall / 1e6)
                report.add("\(operation)-\(label)-cpu", ours.cpu / gib, "CPU-s/GiB", peer: "casync \(operation)", peerValue: theirs.cpu / gib)
            }
            if label == "random" {
                report.add("make-random-share-of-machine-limit", 100 * bytes / make["kura"]!.wall / 1e6 / limit, "%")
            }
            report.note("load after \(label): \(Tools.loadAverage())")
            try FileManager.default.removeItem(atPath: input)
        }
    }

    /// SHA-512/256 and zstd -3 rates on one core (thread CPU time, 64 MiB of random data in 64 KiB
    /// chunks, as make does them), and the make limit they set on all cores. SHA-512/256 is measured
    /// both ways: one stream per chunk (OpenSSL, what casync does) and 32 chunks at a time through the
    /// hasher's vector lanes (what make and extract do where the CPU has AVX-512).
    static func machineLimit(_ report: inout Report) -> Double {
        let data = randomBytes(64 << 20, seed: 3)
        let codec = ChunkCodec()
        func rate(_ body: ([UnsafeRawBufferPointer]) -> Void) -> Double {
            var best = 0.0
            for _ in 0..<3 {
                let start = Clock.threadCPU()
                data.withUnsafeBytes { all in
                    let chunks = stride(from: 0, to: all.count, by: 65536).map {
                        UnsafeRawBufferPointer(rebasing: all[$0..<min(all.count, $0 + 65536)])
                    }
                    body(chunks)
                }
                best = max(best, Double(data.count) / (Clock.threadCPU() - start) / 1e6)
            }
            return best
        }
        let hasher = ChunkHasher(.sha512_256)
        let stream = rate { chunks in for chunk in chunks { _ = hasher.id(of: chunk) } }
        let lanes = rate { chunks in
            for first in stride(from: 0, to: chunks.count, by: 32) { _ = hasher.ids(of: Array(chunks[first..<min(chunks.count, first + 32)])) }
        }
        let sha = hasher.usesLanes ? lanes : stream
        let zstd = rate { chunks in for chunk in chunks { _ = codec.compress(chunk) } }
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let limit = cores / (1 / sha + 1 / zstd)
        report.add("sha512-256-stream-per-core", stream, "MB/s")
        if hasher.usesLanes { report.add("sha512-256-lanes-per-core", lanes, "MB/s", peer: "one stream", peerValue: stream) }
        report.add("zstd3-random-per-core", zstd, "MB/s")
        report.add("make-random-machine-limit", limit, "MB/s")
        return limit
    }
}

/// The best (smallest) wall time and CPU time over a tool's runs, each taken on its own.
struct Best {
    var wall = Double.infinity
    var cpu = Double.infinity

    mutating func add(_ run: (wall: Double, cpu: Double)) {
        wall = min(wall, run.wall)
        cpu = min(cpu, run.cpu)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

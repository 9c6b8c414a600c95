// kura-bench raft: durable commits of a real 3-replica `kura serve` group on 127.0.0.1 (fsync on),
// beside etcd 3.4 measured in the same run by its own Go benchmark tool
// (../shared/bench/etcd-gobench.sh). Same recipe as etcd's: puts of 8-byte keys to one key
// (key space 1), 256 B and 4 KiB values, 1/16/64/256 clients over 1/4/8/16 connections to the
// leader; each client has one put in flight. Figures: committed writes/s, p50 and p99 latency,
// and entries per leader fdatasync (the group-commit factor).
import Dispatch
import Foundation
import Raft
import RaftServer

enum RaftSuite {
    struct Options {
        var seconds = 5.0
        var sizes = [256, 4096]
        var matrix = [(1, 1), (16, 4), (64, 8), (256, 16)]
        var etcdScript = "../shared/bench/etcd-gobench.sh"
        var skipEtcd = false
        /// Measure kura over mutual TLS, with plain kura as the peer (etcd is skipped).
        var tls = false

        init(_ arguments: [String]) throws {
            var rest = arguments[...]
            while let flag = rest.popFirst() {
                switch flag {
                case "--seconds": seconds = Double(rest.popFirst() ?? "") ?? seconds
                case "--sizes": sizes = (rest.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
                case "--clients":
                    matrix = (rest.popFirst() ?? "").split(separator: ",").compactMap { item in
                        let p = item.split(separator: ":").compactMap { Int($0) }
                        return p.count == 2 ? (p[0], p[1]) : nil
                    }
                case "--etcd-script": etcdScript = rest.popFirst() ?? etcdScript
                case "--no-etcd": skipEtcd = true
                case "--tls": tls = true
                default: throw BenchError("raft: unknown option \(flag) (--seconds S --sizes 256,4096 --clients 1:1,16:4 --etcd-script PATH --no-etcd --tls)")
                }
            }
        }
    }

    struct Cell: Hashable {
        var size: Int
        var clients: Int
    }

    struct CellResult {
        var rate: Double
        var p50: Double
        var p99: Double
        var perSync: Double?
    }

    static func run(_ report: inout Report, _ arguments: [String]) throws {
        let options = try Options(arguments)
        report.note("machine: \(ProcessInfo.processInfo.activeProcessorCount) cpus, load \(Tools.loadAverage()) at start")
        let peerName = options.tls ? "kura-plain-tcp" : "etcd-3.4"
        let peers = options.tls ? try measureKura(options, report, tls: false)
            : options.skipEtcd ? [:] : try measureEtcd(options, report)
        let kura = try measureKura(options, report, tls: options.tls)
        for size in options.sizes {
            for (clients, _) in options.matrix {
                let cell = Cell(size: size, clients: clients)
                guard let ours = kura[cell] else { continue }
                let peer = peers[cell]
                let name = "put-\(size)B-\(clients)c" + (options.tls ? "-tls" : "")
                report.add(name, ours.rate, "writes/s", peer: peer == nil ? nil : peerName, peerValue: peer?.rate)
                report.add(name + "-p50", ours.p50, "ms", peer: peer == nil ? nil : peerName, peerValue: peer?.p50)
                report.add(name + "-p99", ours.p99, "ms", peer: peer == nil ? nil : peerName, peerValue: peer?.p99)
                if let perSync = ours.perSync {
                    report.add(name + "-entries-per-fsync", perSync, "entries", peer: peer?.perSync == nil ? nil : peerName,
                               peerValue: peer?.perSync)
                }
            }
        }
        report.note("load \(Tools.loadAverage()) at the end")
    }

    // MARK: - etcd, through the shared script

    static func measureEtcd(_ options: Options, _ report: Report) throws -> [Cell: CellResult] {
        guard FileManager.default.isReadableFile(atPath: options.etcdScript) else {
            report.note("etcd peer skipped: \(options.etcdScript) not found (give --etcd-script)")
            return [:]
        }
        let out = NSTemporaryDirectory() + "kura-bench-etcd-\(getpid()).tsv"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [options.etcdScript]
        var environment = ProcessInfo.processInfo.environment
        environment["CLIENTS"] = options.matrix.map { "\($0.0):\($0.1)" }.joined(separator: " ")
        environment["SIZES"] = options.sizes.map(String.init).joined(separator: " ")
        environment["SECS"] = String(Int(options.seconds.rounded()))
        environment["REPEATS"] = "1"
        environment["OUT"] = out
        process.environment = environment
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("etcd-gobench.sh exited \(process.terminationStatus)") }
        // rep tgt clients conns size total secs rps p50 p90 p99 p999 errs etcd lead client other load fsync/s puts/fsync
        var results: [Cell: CellResult] = [:]
        for line in try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: "\t").map(String.init)
            guard f.count >= 20, let c = Int(f[2]), let s = Int(f[4]), let rps = Double(f[7]),
                  let p50 = Double(f[8]), let p99 = Double(f[10]) else { continue }
            results[Cell(size: s, clients: c)] = CellResult(rate: rps, p50: p50, p99: p99, perSync: Double(f[19]))
        }
        return results
    }
}

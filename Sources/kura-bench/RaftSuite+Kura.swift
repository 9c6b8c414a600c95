// The Kura side of `kura-bench raft`: three `kura serve` processes (the release binary beside
// kura-bench), data on the root disk under /var/tmp, fsync on; a load generator in this process
// with the etcd tool's shape (C clients spread round-robin over N connections to the leader,
// one put in flight per client).
import Dispatch
import Foundation
import NIOPosix
import Raft
import RaftServer

extension RaftSuite {
    static func measureKura(_ options: Options, _ report: Report, tls: Bool) throws -> [Cell: CellResult] {
        let kura = try Tools.sibling("kura")
        let root = "/var/tmp/kura-bench-raft-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { Tools.removeTree(root) }
        let files = tls ? try makeCertificates(in: root) : nil
        let tlsArguments = files.map { ["--tls-cert", $0.certificate, "--tls-key", $0.privateKey, "--tls-ca", $0.trustRoots] } ?? []
        let contexts = try files.map(TLSContexts.init)
        var servers: [ReplicaID: HostPort] = [:]
        for id in 1...3 { servers[ReplicaID(UInt64(id))] = HostPort(host: "127.0.0.1", port: try HostPort.freeLoopbackPort()) }
        let peers = servers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        var processes: [Process] = []
        defer {
            for p in processes where p.isRunning { p.terminate(); p.waitUntilExit() }
        }
        for id in servers.keys.sorted() {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: kura)
            p.arguments = ["serve", "--id", "\(id)", "--peers", peers, "--data", "\(root)/r\(id)"] + tlsArguments + (ProcessInfo.processInfo.environment["KURA_BENCH_SERVE_ARGS"].map { $0.split(separator: " ").map(String.init) } ?? [])
            p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append(p)
        }
        let pids = processes.map(\.processIdentifier)
        let copy = servers
        nonisolated(unsafe) var outcome: Result<[Cell: CellResult], any Error>?
        let done = DispatchSemaphore(value: 0)
        Task {
            do { outcome = .success(try await load(options, servers: copy, pids: pids, tls: contexts, report: report)) } catch { outcome = .failure(error) }
            done.signal()
        }
        done.wait()
        return try outcome!.get()
    }

    static func load(_ options: Options, servers: [ReplicaID: HostPort], pids: [Int32], tls: TLSContexts?,
                     report: Report) async throws -> [Cell: CellResult] {
        let group = MultiThreadedEventLoopGroup.singleton
        let client = KuraClient(servers: servers, group: group, timeout: .seconds(5), tls: tls)
        defer { Task { await client.close() } }
        let leader = try await findLeader(client, servers.keys.sorted())
        report.note("kura: 3 replicas of `kura serve` (this build), fsync on, \(tls == nil ? "plain TCP" : "mutual TLS 1.3"), leader \(leader); data under /var/tmp")
        var results: [Cell: CellResult] = [:]
        for size in options.sizes {
            let value = String(repeating: "v", count: size)
            for (clients, conns) in options.matrix {
                var connections: [ReplicaConnection] = []
                for _ in 0..<conns { connections.append(try await ReplicaConnection.connect(to: servers[leader]!, group: group, tls: tls)) }
                let before = try await client.status(of: leader)
                let cpuBefore = pids.map(cpuTicks).reduce(0, +)
                let start = ContinuousClock.now
                let deadline = start + .milliseconds(Int(options.seconds * 1000))
                let latencies = try await withThrowingTaskGroup(of: [Double].self) { tasks in
                    for c in 0..<clients {
                        let connection = connections[c % conns]
                        tasks.addTask { try await putLoop(connection, value: value, until: deadline) }
                    }
                    var all: [Double] = []
                    for try await some in tasks { all += some }
                    return all
                }
                let elapsed = (ContinuousClock.now - start) / .seconds(1)
                let cpu = Double(pids.map(cpuTicks).reduce(0, +) - cpuBefore) / Double(sysconf(Int32(_SC_CLK_TCK))) / elapsed
                let after = try await client.status(of: leader)
                for connection in connections { await connection.close() }
                let sorted = latencies.sorted()
                let entries = Double(after.appliedCommands - before.appliedCommands)  // commands only: no no-op or configuration entries
                let syncs = Double(after.walSyncs - before.walSyncs)
                results[Cell(size: size, clients: clients)] = CellResult(
                    rate: Double(sorted.count) / elapsed, p50: percentile(sorted, 0.50), p99: percentile(sorted, 0.99),
                    perSync: syncs > 0 ? entries / syncs : nil)
                report.note(String(format: (tls == nil ? "kura" : "kura+tls") + " %d B %d clients/%d conns: %.0f writes/s, p50 %.2f ms, p99 %.2f ms, "
                                   + "%.1f entries per leader fsync, %d messages dropped, replicas used %.2f cores, load %@",
                                   size, clients, conns, Double(sorted.count) / elapsed, percentile(sorted, 0.5),
                                   percentile(sorted, 0.99), syncs > 0 ? entries / syncs : 0, after.droppedMessages - before.droppedMessages,
                                   cpu, Tools.loadAverage()))
            }
        }
        return results
    }

    /// A CA and one certificate it signs for every replica and the load generator, made by `openssl`.
    static func makeCertificates(in root: String) throws -> TLSFiles {
        let base = root + "/tls"
        try "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n"
            .write(toFile: base + ".ext", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for arguments in [
            ["req", "-x509"] + ec + ["-keyout", base + "-ca.key", "-out", base + "-ca.pem", "-days", "2", "-subj", "/CN=kura-bench CA"],
            ["req"] + ec + ["-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=kura-bench"],
            ["x509", "-req", "-in", base + ".csr", "-CA", base + "-ca.pem", "-CAkey", base + "-ca.key", "-CAcreateserial",
             "-out", base + ".pem", "-days", "2", "-extfile", base + ".ext"],
        ] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = arguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw BenchError("openssl \(arguments.first!) failed") }
        }
        return TLSFiles(certificate: base + ".pem", privateKey: base + ".key", trustRoots: base + "-ca.pem")
    }

    /// One client: put after put to the same key until the deadline; latencies in ms.
    static func putLoop(_ connection: ReplicaConnection, value: String, until deadline: ContinuousClock.Instant) async throws -> [Double] {
        var latencies: [Double] = []
        latencies.reserveCapacity(4096)
        while ContinuousClock.now < deadline {
            let start = ContinuousClock.now
            let response = try await connection.call(.put(key: "k0000000", value: value), timeout: .seconds(10))
            guard case .ok = response else { throw BenchError("put refused: \(response)") }
            latencies.append((ContinuousClock.now - start) / .milliseconds(1))
        }
        return latencies
    }

    static func findLeader(_ client: KuraClient, _ ids: [ReplicaID]) async throws -> ReplicaID {
        for _ in 0..<200 {
            for id in ids {
                if let s = try? await client.status(of: id), s.role == "leader", s.commit >= s.lastIndex {
                    return id
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("no leader elected within 20 s")
    }

    /// utime + stime of a process, in clock ticks.
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }
}

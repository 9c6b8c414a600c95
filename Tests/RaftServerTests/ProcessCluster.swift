// Real `kura serve` processes on 127.0.0.1 for tests: start, kill -9, SIGSTOP/SIGCONT, restart,
// and (optionally) every replica-to-replica link through a LinkProxy the test can cut.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import Raft
import RaftServer

final class ProcessCluster: @unchecked Sendable {
    let root = NSTemporaryDirectory() + "kura-procs-" + UUID().uuidString
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let tickMilliseconds: Int
    let snapshotEvery: Int
    var ports: [ReplicaID: Int] = [:]
    var founders: [ReplicaID] = []
    var processes: [ReplicaID: Process] = [:]
    var proxies: [ReplicaID: [ReplicaID: (proxy: LinkProxy, port: Int)]] = [:]
    let useProxies: Bool

    static let kura: String = {
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("kura").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "kura-not-found"
    }()

    init(replicas: Int, useProxies: Bool, tickMilliseconds: Int = 50, snapshotEvery: Int = 10_000) throws {
        self.useProxies = useProxies
        self.tickMilliseconds = tickMilliseconds
        self.snapshotEvery = snapshotEvery
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        founders = (1...replicas).map { ReplicaID(UInt64($0)) }
        for id in founders { ports[id] = try Self.freePort() }
        if useProxies {
            for from in founders {
                for to in founders where to != from {
                    let proxy = LinkProxy(target: ports[to]!, group: group)
                    proxies[from, default: [:]][to] = (proxy, try proxy.start())
                }
            }
        }
        for id in founders { try start(id) }
    }

    deinit {
        for process in processes.values where process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for links in proxies.values { for link in links.values { link.proxy.stop() } }
        try? group.syncShutdownGracefully()
        if ProcessInfo.processInfo.environment["KURA_KEEP_TEST_DATA"] == nil {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// Client-side addresses: the replicas' real ports.
    var servers: [ReplicaID: HostPort] { ports.mapValues { HostPort(host: "127.0.0.1", port: $0) } }
    var peersArgument: String { Self.peerList(servers) }

    static func peerList(_ map: [ReplicaID: HostPort]) -> String {
        map.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// How `id` reaches the others: through its proxies when there are some.
    func peers(of id: ReplicaID) -> [ReplicaID: HostPort] {
        var map = servers
        for (to, link) in proxies[id] ?? [:] { map[to] = HostPort(host: "127.0.0.1", port: link.port) }
        return map
    }

    func start(_ id: ReplicaID, join: Bool = false) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.kura)
        var arguments = ["serve", "--id", "\(id)", "--listen", "127.0.0.1:\(ports[id]!)",
                         "--peers", Self.peerList(peers(of: id)), "--data", "\(root)/r\(id)",
                         "--tick-ms", "\(tickMilliseconds)", "--snapshot-every", "\(snapshotEvery)"]
        if join { arguments.append("--join") }
        process.arguments = arguments
        let log = "\(root)/r\(id).log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        processes[id] = process
    }

    /// A new replica with a fresh port, started with --join (not yet a member).
    func startJoiner(_ id: ReplicaID) throws {
        ports[id] = try Self.freePort()
        try start(id, join: true)
    }

    func kill9(_ id: ReplicaID) {
        guard let process = processes[id] else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        processes[id] = nil
    }

    func signal(_ id: ReplicaID, _ number: Int32) {
        if let process = processes[id] { kill(process.processIdentifier, number) }
    }

    /// Cuts every link to and from `id` (both directions), or heals them.
    func isolate(_ id: ReplicaID, _ cut: Bool) {
        for (from, links) in proxies {
            for (to, link) in links where from == id || to == id {
                if cut { link.proxy.cut() } else { link.proxy.heal() }
            }
        }
    }

    func log(_ id: ReplicaID) -> String {
        (try? String(contentsOfFile: "\(root)/r\(id).log", encoding: .utf8)) ?? ""
    }

    static func freePort() throws -> Int { try HostPort.freeLoopbackPort() }
}

/// What `body` returned or threw, so a caller can close what it opened before passing either on.
func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

// A replica server's life in one process: a failed fsync stops it acknowledging and later
// requests are refused at once (not queued for a loop that no longer runs); `stop()` returns only
// once the loop thread has; a connection closed for a bad Hello is logged with its address.
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Raft
@testable import RaftServer
import Synchronization
import Testing
import Locks

@Suite("Server lifecycle")
struct ServerLifecycleTests {
    /// What the server's hooks saw, shared with them.
    final class Probe: Sendable {
        let failSync = Atomic<Bool>(false)
        let fatal = SanitizedMutex<[String]>([])
        let logged = SanitizedMutex<[String]>([])
    }

    final class Harness {
        let root = NSTemporaryDirectory() + "kura-life-" + UUID().uuidString
        let address: HostPort
        let server: KuraServer
        let probe = Probe()

        init() throws {
            address = HostPort(host: "127.0.0.1", port: try HostPort.freeLoopbackPort())
            var options = ServerOptions(id: 1, peers: [1: address], dataDirectory: root)
            options.tickMilliseconds = 10
            let probe = probe
            options.walSyncOverride = { probe.failSync.load(ordering: .relaxed) ? EIO : 0 }
            options.log = { line in probe.logged.withLock { $0.append(line) } }
            server = try KuraServer(options: options) { error in probe.fatal.withLock { $0.append("\(error)") } }
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(atPath: root)
        }

        /// Writes until the single replica has elected itself and acknowledges.
        func firstWrite(_ client: KuraClient) async throws {
            for _ in 0..<200 {
                if case .ok = try await client.call(.put(key: "k", value: "v")) { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw ClusterTestError("no write acknowledged")
        }
    }

    @Test("a failed fsync stops acknowledging; later requests are refused at once", .timeLimit(.minutes(1)))
    func failedDiskRefusesLaterRequests() async throws {
        let harness = try Harness()
        let client = KuraClient(servers: [1: harness.address], group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(3))
        try await harness.firstWrite(client)
        harness.probe.failSync.store(true, ordering: .relaxed)

        let doomed = try await client.call(.put(key: "k", value: "lost?"))
        if case .ok = doomed { Issue.record("a write was acknowledged without a successful fsync") }
        for _ in 0..<100 where harness.server.isLoopRunning { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!harness.server.isLoopRunning)
        #expect(harness.probe.fatal.withLock { $0 }.count == 1)

        // Queued for a loop that no longer runs, this would wait out the 3 s timeout (`unknown`).
        let started = ContinuousClock.now
        let later = try await client.call(.put(key: "k", value: "after"))
        guard case .failed(let why) = later else { Issue.record("expected a refusal, got \(later)"); return }
        #expect(why.contains("stopped"), "\(why)")
        #expect(ContinuousClock.now - started < .seconds(2))
        let read = try await client.call(.getLocal(key: "k"), at: 1)
        #expect(read == .failed(why))
        await client.close()
    }

    @Test("stop() returns once the loop thread has", .timeLimit(.minutes(1)))
    func stopJoinsTheLoopThread() async throws {
        let harness = try Harness()
        let client = KuraClient(servers: [1: harness.address], group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(3))
        try await harness.firstWrite(client)
        await client.close()
        #expect(harness.server.isLoopRunning)
        harness.server.stop()
        #expect(!harness.server.isLoopRunning)
        harness.server.stop()  // a second stop is harmless
    }

    @Test("a connection with a bad Hello is closed and logged with its address", .timeLimit(.minutes(1)))
    func badHelloIsLogged() async throws {
        let harness = try Harness()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: harness.address.host, port: harness.address.port).get()
        let local = try #require(channel.localAddress?.port)
        try await channel.writeAndFlush(channel.allocator.frame(Array("NOPE".utf8) + [2]))
        try await channel.closeFuture.get()
        let lines = harness.probe.logged.withLock { $0 }
        #expect(lines.contains { $0.contains("127.0.0.1") && $0.contains("\(local)") && $0.contains("magic") }, "\(lines)")

        // A peer of another cluster is named too.
        let peer = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: harness.address.host, port: harness.address.port).get()
        try await peer.writeAndFlush(peer.allocator.frame(Hello.peer(from: 2, cluster: 99).encode()))
        try await peer.closeFuture.get()
        #expect(harness.probe.logged.withLock { $0 }.contains { $0.contains("cluster 99") }, "\(harness.probe.logged.withLock { $0 })")
    }

    @Test("stop() while connections to unreachable peers are still opening", .timeLimit(.minutes(1)),
          arguments: [false, true])
    func stopWhileConnectsAreInFlight(tls: Bool) throws {
        // Plain TCP: peers whose accept queue is full, so a connect neither succeeds nor fails
        // until its timeout. TLS: peers that accept and never answer, so the handshake (and the
        // Hello behind it) waits. Either way the links and the membership probe are mid-connect
        // when `stop()` shuts the event loop down. NIO's debug build traps on a connect its
        // loop's shutdown cut off, so a regression ends the test process; a hang hits the limit.
        let silent = try SilentListener(acceptsConnections: tls)
        let root = NSTemporaryDirectory() + "kura-life-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pki = tls ? try PKI(directory: root, name: "life") : nil
        for round in 0..<3 {
            let me = HostPort(host: "127.0.0.1", port: try HostPort.freeLoopbackPort())
            var options = ServerOptions(id: 1, peers: [1: me, 2: silent.address, 3: silent.address], dataDirectory: "\(root)/r\(round)")
            options.tickMilliseconds = 10
            options.tls = pki?.files
            let server = try KuraServer(options: options) { error in Issue.record("fatal: \(error)") }
            // Without a leader for 60 ticks the replica asks its peers whether it was removed.
            let deadline = ContinuousClock.now + .seconds(20)
            while !server.loop.probing.load(ordering: .acquiring) && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            let probing = server.loop.probing.load(ordering: .acquiring)
            #expect(probing, "round \(round): the probe never started")
            Thread.sleep(forTimeInterval: 0.1 * Double(round))
            let started = ContinuousClock.now
            // On a thread of its own, so that a stop() that never returns fails the test rather
            // than hanging the run.
            let stopped = DispatchSemaphore(value: 0)
            Thread { server.stop(); stopped.signal() }.start()
            guard stopped.wait(timeout: .now() + 15) == .success else {
                Issue.record("round \(round): stop() did not return within 15 s")
                return
            }
            // A probe stops between peers once the transport is closed: at most one connect
            // timeout (1 s, the TLS handshake's included) and one answer timeout (2 s) to wait out.
            #expect(ContinuousClock.now - started < .seconds(4), "round \(round)")
            #expect(!server.isLoopRunning)
            // Time for anything that outlived the server to reach its dead event loop (a probe
            // once did, in a Task of its own).
            Thread.sleep(forTimeInterval: 0.3)
        }
    }
}

/// A listening socket on 127.0.0.1 that never answers. Unless it `acceptsConnections`, two
/// connections fill its accept queue (backlog 1, never accepted), so the kernel drops every later
/// SYN and connects hang until they time out; otherwise connects succeed and nothing is ever read.
final class SilentListener {
    let listener: Int32
    let fillers: [Int32]
    let address: HostPort

    init(acceptsConnections: Bool) throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var name = sockaddr_in()
        name.sin_family = sa_family_t(AF_INET)
        name.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listener = listener
        let listening = withUnsafeMutablePointer(to: &name) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, acceptsConnections ? 64 : 1) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard listening else { throw ClusterTestError("silent listener: errno \(errno)") }
        var fillers: [Int32] = []
        for _ in 0..<(acceptsConnections ? 0 : 2) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            fillers.append(fd)
            let connected = withUnsafeMutablePointer(to: &name) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) == 0 }
            }
            guard connected else { throw ClusterTestError("silent listener filler: errno \(errno)") }
        }
        self.fillers = fillers
        address = HostPort(host: "127.0.0.1", port: Int(UInt16(bigEndian: name.sin_port)))
    }

    deinit {
        fillers.forEach { close($0) }
        close(listener)
    }
}

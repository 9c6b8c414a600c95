// A replica server's life in one process: a failed fsync stops it acknowledging and later
// requests are refused at once (not queued for a loop that no longer runs); `stop()` returns only
// once the loop thread has; a connection closed for a bad Hello is logged with its address.
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
}

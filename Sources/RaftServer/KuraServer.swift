// `kura serve`: one replica of one consensus group as a process. It listens on one TCP port for
// both peers and clients (the first frame says which), keeps its WAL and snapshots in `data`,
// and runs the group loop on a thread of its own so fsync never stalls the network.
import Dispatch
import Foundation
import NIOCore
import NIOPosix
import Raft
import RaftRuntime
import Synchronization
import Locks

public struct ServerOptions: Sendable {
    public var id: ReplicaID
    /// Peers (and maybe this replica): how this replica reaches each of them.
    public var peers: [ReplicaID: HostPort]
    /// Where to listen; defaults to this replica's own entry in `peers`.
    public var listen: HostPort?
    public var dataDirectory: String
    /// Start empty and wait to be added (no founding configuration).
    public var join = false
    /// Cluster identity: peers of another cluster are refused.
    public var cluster: UInt64 = 1
    public var tickMilliseconds = 50
    public var requestTimeoutMilliseconds = 5_000
    public var snapshotEvery = 10_000
    public var raft = RaftConfig()
    /// Mutual TLS for peers and clients alike (nil: plain TCP).
    public var tls: TLSFiles?
    /// Where the server reports what it survives (a bad connection): one line each, stderr by default.
    public var log: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    /// Test hook: the WAL calls it instead of fdatasync and fails with the errno it returns (0 = ok).
    public var walSyncOverride: (@Sendable () -> Int32)?

    public init(id: ReplicaID, peers: [ReplicaID: HostPort], dataDirectory: String) {
        self.id = id
        self.peers = peers
        self.dataDirectory = dataDirectory
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case noListenAddress(ReplicaID)
    case notFounder(ReplicaID)

    public var description: String {
        switch self {
        case .noListenAddress(let id): return "no address to listen on: give --listen or list replica \(id) in --peers"
        case .notFounder(let id): return "replica \(id) is not in --peers; a founding replica must be (or use --join)"
        }
    }
}

public final class KuraServer: @unchecked Sendable {
    public let options: ServerOptions
    let group: MultiThreadedEventLoopGroup
    let transport: PeerTransport
    let loop: GroupLoop
    let listener: any Channel
    let thread: Thread
    let gate: ServerGate
    /// Left when the loop thread has returned (stopped, or stopped by a fatal error).
    let loopFinished: DispatchGroup
    let stopped = Atomic<Bool>(false)
    public var localAddress: HostPort { HostPort(host: listenAddress.host, port: listener.localAddress?.port ?? listenAddress.port) }
    let listenAddress: HostPort

    /// Opens the replica's state and starts listening; the group loop runs until `stop()` or a fatal error.
    public init(options: ServerOptions, onFatal: @escaping @Sendable (any Error) -> Void) throws {
        self.options = options
        guard let listen = options.listen ?? options.peers[options.id] else { throw ServerError.noListenAddress(options.id) }
        if !options.join && options.peers[options.id] == nil { throw ServerError.notFounder(options.id) }
        listenAddress = listen
        try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true)
        let (wal, groups) = try WriteAheadLog.open(directory: options.dataDirectory + "/wal", syncOverride: options.walSyncOverride)
        let founders = options.join ? nil : Configuration(voters: Array(options.peers.keys))
        let driver = try ReplicaDriver<ServerMachine>(
            id: options.id, group: options.cluster, config: options.raft, wal: wal, recovered: groups[options.cluster],
            directory: options.dataDirectory, bootstrap: founders, snapshotEvery: options.snapshotEvery)

        let tls = try options.tls.map(TLSContexts.init)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        transport = PeerTransport(localID: options.id, cluster: options.cluster, peers: options.peers, loop: group.next(), tls: tls)
        let gate = ServerGate()
        self.gate = gate
        let loop = GroupLoop(driver: driver, transport: transport, tickMilliseconds: options.tickMilliseconds,
                             requestTimeoutMilliseconds: options.requestTimeoutMilliseconds) { error in
            // The loop drains nothing more: refuse what arrives from now on, and cut off the clients
            // whose requests sit in its inbox so they learn at once (their writes' fate is unknown).
            gate.fail("replica \(options.id) stopped: \(error)")
            onFatal(error)
        }
        self.loop = loop
        let cluster = options.cluster
        let log = options.log
        do {
            listener = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addTLSServer(tls)
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(loop: loop, cluster: cluster, gate: gate, log: log))
                    }
                }
                .bind(host: listen.host, port: listen.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        let finished = DispatchGroup()
        loopFinished = finished
        finished.enter()
        thread = Thread {
            loop.run()
            finished.leave()
        }
        thread.name = "kura-replica-\(options.id)"
        thread.start()
    }

    /// Stops the loop and waits for its thread, then closes the port and peer links. What was
    /// acknowledged is on disk already. Not to be called from `onFatal` (it runs on that thread).
    public func stop() {
        // Once only: a second close of the listener would wait on an event loop already shut down.
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        loop.stop()
        // The loop may be in an fsync or sending through the event loop: shut nothing under it.
        loopFinished.wait()
        // Nothing may still be opening a connection on the event loop when it shuts down.
        transport.closeAll()
        _ = try? loop.probe?.wait()
        try? listener.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// False once the loop thread has returned.
    public var isLoopRunning: Bool { loopFinished.wait(timeout: .now()) == .timedOut }
}

/// What the network threads know of the loop: after a fatal error it drains nothing, so nothing
/// may be queued for it (peer messages would pile up forever, requests would never be answered).
final class ServerGate: Sendable {
    private struct State {
        var failure: String?
        var clients: [ObjectIdentifier: any Channel] = [:]
    }
    private let state = SanitizedMutex(State())

    /// Hands `inputs` to the loop, or answers its requests with the failure.
    func submit(_ inputs: [Input], to loop: GroupLoop) {
        let failure = state.withLock { s -> String? in
            if s.failure == nil { loop.submit(inputs) }
            return s.failure
        }
        guard let failure else { return }
        for case .request(let envelope, let respond) in inputs {
            respond(Envelope(id: envelope.id, body: .failed(failure)))
        }
    }

    func register(_ channel: any Channel) {
        state.withLock { $0.clients[ObjectIdentifier(channel)] = channel }
    }

    func unregister(_ channel: any Channel) {
        _ = state.withLock { $0.clients.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func fail(_ why: String) {
        let clients = state.withLock { s -> [any Channel] in
            s.failure = s.failure ?? why
            defer { s.clients = [:] }
            return Array(s.clients.values)
        }
        for channel in clients { channel.close(promise: nil) }
    }
}

/// One accepted connection: a peer's Raft messages or a client's requests, told apart by `Hello`.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = [UInt8]
    enum Mode { case awaitingHello, peer(ReplicaID), client }

    let loop: GroupLoop
    let cluster: UInt64
    let gate: ServerGate
    let log: @Sendable (String) -> Void
    var mode = Mode.awaitingHello
    var batch: [Input] = []
    var closing = false

    init(loop: GroupLoop, cluster: UInt64, gate: ServerGate, log: @escaping @Sendable (String) -> Void) {
        self.loop = loop
        self.cluster = cluster
        self.gate = gate
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let body = unwrapInboundIn(data)
        do {
            switch mode {
            case .awaitingHello:
                switch try Hello.decode(body) {
                case .peer(let from, let theirCluster):
                    guard theirCluster == cluster else { throw WireError.malformed("peer of cluster \(theirCluster), this is \(cluster)") }
                    mode = .peer(from)
                case .client:
                    mode = .client
                    gate.register(context.channel)
                }
            case .peer(let from):
                let (group, message) = try MessageCodec.decode(body)
                guard group == cluster, message.from == from else { throw WireError.malformed("message from \(message.from) on \(from)'s link") }
                batch.append(.message(message))
            case .client:
                let request = try Envelope<Request>.decode(body)
                let channel = context.channel
                batch.append(.request(request, { response in
                    channel.writeAndFlush(channel.allocator.frame(response.encode()), promise: nil)
                }))
            }
        } catch {
            cutOff(context, "\(error)")
        }
    }

    /// Everything read in one go reaches the loop in one hand-off (one lock, one wake-up).
    func channelReadComplete(context: ChannelHandlerContext) {
        if !batch.isEmpty {
            gate.submit(batch, to: loop)
            batch.removeAll(keepingCapacity: true)
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        gate.unregister(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        cutOff(context, "\(error)")
    }

    /// One line per connection closed for cause, naming who and why, so an operator can tell a
    /// misconfigured peer (wrong cluster, old binary) from noise.
    func cutOff(_ context: ChannelHandlerContext, _ why: String) {
        guard !closing else { return }
        closing = true
        let who: String
        switch mode {
        case .awaitingHello: who = "connection"
        case .peer(let id): who = "peer \(id)"
        case .client: who = "client"
        }
        let address = context.channel.remoteAddress.map { "\($0)" } ?? "an unknown address"
        log("kura serve: closing \(who) from \(address): \(why)")
        context.close(promise: nil)
    }
}

// `kura serve`: one replica of one consensus group as a process. It listens on one TCP port for
// both peers and clients (the first frame says which), keeps its WAL and snapshots in `data`,
// and runs the group loop on a thread of its own so fsync never stalls the network.
import Foundation
import NIOCore
import NIOPosix
import Raft
import RaftRuntime

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
    public var localAddress: HostPort { HostPort(host: listenAddress.host, port: listener.localAddress?.port ?? listenAddress.port) }
    let listenAddress: HostPort

    /// Opens the replica's state and starts listening; the group loop runs until `stop()` or a fatal error.
    public init(options: ServerOptions, onFatal: @escaping @Sendable (any Error) -> Void) throws {
        self.options = options
        guard let listen = options.listen ?? options.peers[options.id] else { throw ServerError.noListenAddress(options.id) }
        if !options.join && options.peers[options.id] == nil { throw ServerError.notFounder(options.id) }
        listenAddress = listen
        try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true)
        let (wal, groups) = try WriteAheadLog.open(directory: options.dataDirectory + "/wal")
        let founders = options.join ? nil : Configuration(voters: Array(options.peers.keys))
        let driver = try ReplicaDriver<ServerMachine>(
            id: options.id, group: options.cluster, config: options.raft, wal: wal, recovered: groups[options.cluster],
            directory: options.dataDirectory, bootstrap: founders, snapshotEvery: options.snapshotEvery)

        let tls = try options.tls.map(TLSContexts.init)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        transport = PeerTransport(localID: options.id, cluster: options.cluster, peers: options.peers, loop: group.next(), tls: tls)
        let loop = GroupLoop(driver: driver, transport: transport, tickMilliseconds: options.tickMilliseconds,
                             requestTimeoutMilliseconds: options.requestTimeoutMilliseconds, onFatal: onFatal)
        self.loop = loop
        let cluster = options.cluster
        do {
            listener = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addTLSServer(tls)
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(loop: loop, cluster: cluster))
                    }
                }
                .bind(host: listen.host, port: listen.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        thread = Thread { loop.run() }
        thread.name = "kura-replica-\(options.id)"
        thread.start()
    }

    /// Stops the loop, closes the port and peer links. What was acknowledged is on disk already.
    public func stop() {
        loop.stop()
        transport.closeAll()
        try? listener.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// One accepted connection: a peer's Raft messages or a client's requests, told apart by `Hello`.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = [UInt8]
    enum Mode { case awaitingHello, peer(ReplicaID), client }

    let loop: GroupLoop
    let cluster: UInt64
    var mode = Mode.awaitingHello
    var batch: [Input] = []

    init(loop: GroupLoop, cluster: UInt64) {
        self.loop = loop
        self.cluster = cluster
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
            context.close(promise: nil)
        }
    }

    /// Everything read in one go reaches the loop in one hand-off (one lock, one wake-up).
    func channelReadComplete(context: ChannelHandlerContext) {
        if !batch.isEmpty {
            loop.submit(batch)
            batch.removeAll(keepingCapacity: true)
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

// Outbound Raft messages: one TCP connection to each peer, opened on demand, re-opened with
// exponential backoff and jitter, and bounded. Raft survives lost messages (it resends on the
// next heartbeat or probe), so when a peer is slow or gone the transport drops rather than
// buffering without limit — memory stays bounded however long a peer is away.
import Dispatch
import NIOCore
import NIOPosix
import Raft
import RaftRuntime
import Synchronization
import Locks

final class PeerTransport: Sendable {
    let localID: ReplicaID
    let cluster: UInt64
    let loop: any EventLoop
    let tls: TLSContexts?
    private let links: SanitizedMutex<[ReplicaID: PeerLink]> = SanitizedMutex([:])
    /// Links replaced after an address change: `closeAll` waits for their connects too.
    private let replaced: SanitizedMutex<[PeerLink]> = SanitizedMutex([])
    private let book: SanitizedMutex<[ReplicaID: HostPort]>
    private let closed = Atomic<Bool>(false)

    init(localID: ReplicaID, cluster: UInt64, peers: [ReplicaID: HostPort], loop: any EventLoop, tls: TLSContexts? = nil) {
        self.localID = localID
        self.cluster = cluster
        self.loop = loop
        self.tls = tls
        book = SanitizedMutex(peers.filter { $0.key != localID })
    }

    var addresses: [ReplicaID: HostPort] { book.withLock { $0 } }
    func address(of replica: ReplicaID) -> HostPort? { book.withLock { $0[replica] } }
    func setAddress(_ replica: ReplicaID, _ address: HostPort) {
        guard replica != localID else { return }
        book.withLock { $0[replica] = address }
    }

    /// Encodes on the caller's thread, then hands each peer's frames to its link in one hop.
    func send(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        var byPeer: [ReplicaID: [ByteBuffer]] = [:]
        let allocator = ByteBufferAllocator()
        for message in messages {
            byPeer[message.to, default: []].append(allocator.frame(MessageCodec.encode(message, group: cluster)))
        }
        for (peer, frames) in byPeer {
            guard let link = link(to: peer) else { continue }
            loop.execute { link.send(frames) }
        }
    }

    private func link(to peer: ReplicaID) -> PeerLink? {
        guard let address = address(of: peer) else { return nil }
        return links.withLock { links in
            if let link = links[peer], link.address == address { return link }
            if let old = links[peer] {
                replaced.withLock { $0.append(old) }
                loop.execute { old.close() }
            }
            let link = PeerLink(peer: peer, address: address, loop: loop,
                                hello: Hello.peer(from: localID, cluster: cluster).encode(), tls: tls)
            links[peer] = link
            return link
        }
    }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Closes every link and returns once no connection is still being opened, so the event
    /// loop can be shut down under none (NIO drops a connect cut off by its loop's shutdown).
    /// Not to be called on `loop`.
    func closeAll() {
        closed.store(true, ordering: .releasing)
        let all = links.withLock { links in
            defer { links = [:] }
            return Array(links.values)
        } + replaced.withLock { $0 }
        let loop = self.loop
        let settled = loop.flatSubmit {
            EventLoopFuture.andAllComplete(all.map { $0.close() }, on: loop)
        }
        try? settled.wait()
    }

    /// Messages dropped because a peer was unreachable or too slow, per peer.
    func droppedCounts() -> [ReplicaID: Int] {
        links.withLock { $0.mapValues { $0.dropped.load(ordering: .relaxed) } }
    }
}

/// One peer's connection. All mutable state is touched only on `loop`.
final class PeerLink: @unchecked Sendable {
    static let queuedFramesMax = 4096
    static let queuedBytesMax = 64 << 20

    let peer: ReplicaID
    let address: HostPort
    let loop: any EventLoop
    let hello: [UInt8]
    let tls: TLSContexts?
    let dropped = Atomic<Int>(0)

    private var channel: (any Channel)?
    /// The connection being opened, if one is.
    private var connecting: EventLoopFuture<Void>?
    private var retryScheduled = false
    private var closed = false
    private var attempts = 0
    private var queue = CircularBuffer<ByteBuffer>()
    private var queuedBytes = 0

    init(peer: ReplicaID, address: HostPort, loop: any EventLoop, hello: [UInt8], tls: TLSContexts?) {
        self.peer = peer
        self.address = address
        self.loop = loop
        self.hello = hello
        self.tls = tls
    }

    func send(_ frames: [ByteBuffer]) {
        loop.preconditionInEventLoop()
        if let channel, channel.isActive, queue.isEmpty {
            for frame in frames {
                // Over the high watermark the socket is not keeping up: drop, Raft will resend.
                guard channel.isWritable else { dropped.add(1, ordering: .relaxed); continue }
                channel.write(frame, promise: nil)
            }
            channel.flush()
            return
        }
        for frame in frames {
            guard queue.count < Self.queuedFramesMax, queuedBytes + frame.readableBytes <= Self.queuedBytesMax else {
                dropped.add(1, ordering: .relaxed)
                continue
            }
            queue.append(frame)
            queuedBytes += frame.readableBytes
        }
        connectIfIdle()
    }

    /// Returns when a connection being opened has settled (it is closed as soon as it opens).
    @discardableResult
    func close() -> EventLoopFuture<Void> {
        loop.preconditionInEventLoop()
        closed = true
        queue.removeAll()
        channel?.close(promise: nil)
        channel = nil
        return connecting ?? loop.makeSucceededVoidFuture()
    }

    private func connectIfIdle() {
        guard channel == nil, connecting == nil, !retryScheduled, !closed else { return }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(500))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 1 << 20, high: 8 << 20))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addTLSClient(tls)
                    try channel.pipeline.syncOperations.addHandler(LinkWatcher(link: self))
                }
            }
        let attempt = bootstrap.connect(host: address.host, port: address.port)
        connecting = attempt.map { _ in }.recover { _ in }
        attempt.whenComplete { [self] result in
            connecting = nil
            switch result {
            case .success(let channel):
                guard !closed else { channel.close(promise: nil); return }
                self.channel = channel
                attempts = 0
                // A link whose Hello did not go out is useless (the peer would refuse every frame
                // after it): close it, which schedules a reconnect, rather than leak it.
                let helloSent = channel.eventLoop.makePromise(of: Void.self)
                helloSent.futureResult.whenFailure { _ in channel.close(promise: nil) }
                channel.write(channel.allocator.frame(hello), promise: helloSent)
                while let frame = queue.popFirst() { channel.write(frame, promise: nil) }
                queuedBytes = 0
                channel.flush()
            case .failure:
                scheduleRetry()
            }
        }
    }

    /// 10 ms doubling to 1 s, plus up to half again at random, so restarted peers are not stampeded.
    private func scheduleRetry() {
        guard !closed, !retryScheduled else { return }
        attempts += 1
        let base = min(1000, 10 << min(attempts, 7))
        let delay = base + Int.random(in: 0...(base / 2))
        retryScheduled = true
        loop.scheduleTask(in: .milliseconds(Int64(delay))) { [self] in
            retryScheduled = false
            if !queue.isEmpty { connectIfIdle() }
        }
    }

    fileprivate func disconnected(_ channel: any Channel) {
        guard self.channel === channel else { return }
        self.channel = nil
        scheduleRetry()
    }
}

/// Notices when a peer connection closes; peers never send anything back on it.
private final class LinkWatcher: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let link: PeerLink

    init(link: PeerLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelInactive(context: ChannelHandlerContext) {
        link.disconnected(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

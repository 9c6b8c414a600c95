// The client side: `ReplicaConnection` pipelines requests to one replica over one TCP connection;
// `KuraClient` follows the leader across a group. Retries are only automatic where they are
// safe: a request refused with `notLeader`, or one that never reached a replica. A write whose
// answer was lost (timeout, dropped connection) is reported as `unknown`, never silently retried,
// because it may have been committed.
import NIOCore
import NIOPosix
import Raft
import Synchronization

public enum ClientError: Error, Equatable, CustomStringConvertible {
    case unreachable(String)
    case connectionClosed
    case timeout
    case malformed(String)

    public var description: String {
        switch self {
        case .unreachable(let what): return "no replica reachable: \(what)"
        case .connectionClosed: return "connection closed before the answer came"
        case .timeout: return "no answer within the timeout"
        case .malformed(let what): return "malformed answer: \(what)"
        }
    }
}

public final class ReplicaConnection: Sendable {
    let channel: any Channel
    let handler: ResponseHandler
    let nextID = Atomic<UInt64>(1)

    init(channel: any Channel, handler: ResponseHandler) {
        self.channel = channel
        self.handler = handler
    }

    /// `handshake`: how long the connection may take to be ready to send, TLS handshake included.
    public static func connect(to address: HostPort, group: any EventLoopGroup, tls: TLSContexts? = nil,
                               handshake: TimeAmount = .seconds(10)) async throws -> ReplicaConnection {
        try await connecting(to: address, group: group, tls: tls, handshake: handshake).get()
    }

    /// `connect` as a future, for callers on an event loop (the replica's membership probe).
    static func connecting(to address: HostPort, group: any EventLoopGroup, tls: TLSContexts?,
                           handshake: TimeAmount) -> EventLoopFuture<ReplicaConnection> {
        let handler = ResponseHandler()
        return ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(1000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addTLSClient(tls)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMap { channel in
                // Under TLS the Hello waits for the handshake, which nothing else times out: a
                // peer that accepts and never answers (SIGSTOPped, a dead proxy) is cut off.
                let deadline = channel.eventLoop.scheduleTask(in: handshake) { channel.close(promise: nil) }
                return channel.writeAndFlush(channel.allocator.frame(Hello.client.encode()))
                    .always { _ in deadline.cancel() }
                    .map { ReplicaConnection(channel: channel, handler: handler) }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        return channel.eventLoop.makeFailedFuture(error)
                    }
            }
    }

    public var isActive: Bool { channel.isActive }

    /// Sends one request and waits for its answer (or the timeout). The connection's event loop
    /// must be running: a closed connection (as every one is once its loop shuts down) throws.
    public func call(_ request: Request, timeout: Duration = .seconds(10)) async throws -> Response {
        guard channel.isActive else { throw ClientError.connectionClosed }
        return try await calling(request, timeout: timeout).get()
    }

    /// `call` as a future. The connection's event loop must still be running: a task handed to
    /// a loop that has shut down is dropped, and its answer would never come.
    func calling(_ request: Request, timeout: Duration) -> EventLoopFuture<Response> {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let frame = channel.allocator.frame(Envelope(id: id, body: request).encode())
        let loop = channel.eventLoop
        let channel = self.channel
        let handler = self.handler
        let (seconds, attoseconds) = timeout.components
        let nanos = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let answer = loop.makePromise(of: Response.self)
        loop.execute {
            guard channel.isActive else { answer.fail(ClientError.connectionClosed); return }
            // Cancelled when the answer comes: at tens of thousands of requests a second,
            // uncancelled timers would pile up in the loop's timer heap for the whole timeout.
            let timer = loop.scheduleTask(in: .nanoseconds(nanos)) {
                if let waiter = handler.waiting.removeValue(forKey: id) { waiter.answer.fail(ClientError.timeout) }
            }
            handler.waiting[id] = (answer, timer)
            channel.writeAndFlush(frame, promise: nil)
        }
        return answer.futureResult
    }

    /// A connection its event loop's shutdown already closed is left alone: a close handed to a
    /// loop that has shut down would never complete.
    public func close() async {
        guard channel.isActive else { return }
        try? await channel.close()
    }
}

/// Pairs answers with waiting callers; lives on the connection's event loop.
final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = [UInt8]
    var waiting: [UInt64: (answer: EventLoopPromise<Response>, timer: Scheduled<Void>)] = [:]

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            let envelope = try Envelope<Response>.decode(unwrapInboundIn(data))
            guard let waiter = waiting.removeValue(forKey: envelope.id) else { return }
            waiter.timer.cancel()
            waiter.answer.succeed(envelope.body)
        } catch {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let all = waiting
        waiting = [:]
        for waiter in all.values {
            waiter.timer.cancel()
            waiter.answer.fail(ClientError.connectionClosed)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

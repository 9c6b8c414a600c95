// A TCP proxy for one direction of one replica-to-replica link, run by the test: replica A's
// --peers sends its traffic for B through it, so the test can cut exactly that link (existing
// connections are closed, new ones are accepted and dropped) and heal it again.
import NIOCore
import NIOPosix
import Locks

final class LinkProxy: Sendable {
    let target: Int
    let group: any EventLoopGroup
    private let state = SanitizedMutex<(cut: Bool, live: [any Channel])>((false, []))
    private let listener = SanitizedMutex<(any Channel)?>(nil)

    init(target: Int, group: any EventLoopGroup) {
        self.target = target
        self.group = group
    }

    /// Starts listening on an ephemeral port of 127.0.0.1 and returns it.
    func start() throws -> Int {
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { [self] inbound in
                inbound.eventLoop.makeCompletedFuture { accept(inbound) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        listener.withLock { $0 = channel }
        return channel.localAddress!.port!
    }

    private func accept(_ inbound: any Channel) {
        if state.withLock({ $0.cut }) {
            inbound.close(promise: nil)
            return
        }
        ClientBootstrap(group: inbound.eventLoop)
            .connectTimeout(.milliseconds(500))
            .channelInitializer { outbound in
                outbound.eventLoop.makeCompletedFuture {
                    try outbound.pipeline.syncOperations.addHandler(Forward(to: inbound))
                }
            }
            .connect(host: "127.0.0.1", port: target)
            .whenComplete { [self] result in
                switch result {
                case .failure:
                    inbound.close(promise: nil)
                case .success(let outbound):
                    let keep = state.withLock { s -> Bool in
                        guard !s.cut else { return false }
                        s.live += [inbound, outbound]
                        return true
                    }
                    guard keep else {
                        inbound.close(promise: nil)
                        outbound.close(promise: nil)
                        return
                    }
                    _ = inbound.pipeline.addHandler(Forward(to: outbound)).flatMap { inbound.setOption(.autoRead, value: true) }
                }
            }
    }

    func cut() {
        let live = state.withLock { s -> [any Channel] in
            s.cut = true
            defer { s.live = [] }
            return s.live
        }
        for channel in live { channel.close(promise: nil) }
    }

    func heal() { state.withLock { $0.cut = false } }

    func stop() {
        cut()
        if let channel = listener.withLock({ $0 }) { try? channel.close().wait() }
    }
}

/// Copies everything read on one channel to its partner; closing one closes both.
private final class Forward: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let partner: any Channel

    init(to partner: any Channel) { self.partner = partner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.write(unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

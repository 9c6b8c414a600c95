// `kura chunk-server`: a chunk store over HTTP/1.1 in desync's protocol (see ChunkRoute), so
// desync, casync's HTTP helper and plain web clients read our stores, and desync writes to them.
// The event loop parses and answers; store reads and writes, and zstd, run on a thread pool.
// Unlike desync's server, a PUT is verified before it is stored (the body must decode to bytes
// whose digest is the chunk's ID): a store never holds a chunk it was not given intact.
import Chunks
import NIOCore
import NIOHTTP1
import NIOPosix

public struct ChunkServerOptions: Sendable {
    /// The form chunks travel in (the URL's extension); the store may hold either, it is transcoded.
    public var form: ChunkForm = .compressed
    /// Whether PUT is accepted.
    public var writable = false
    /// The digest chunk IDs are taken with, for verifying a PUT.
    public var digest: ChunkDigest = .sha512_256
    /// The largest request body taken. casync's default chunks are at most 256 KiB; larger bodies
    /// are refused (413) as they arrive, before they are buffered.
    public var maxBody = 64 << 20
    /// One line per refused or failed request (`nil`: quiet).
    public var log: (@Sendable (String) -> Void)?

    public init() {}
}

public final class ChunkHTTPServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let pool: NIOThreadPool
    let listener: any Channel
    /// The port listened on (useful when asked for port 0).
    public let port: Int

    public init(store: any WritableChunkStore, host: String, port: Int, options: ChunkServerOptions,
                threads: Int = System.coreCount) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
        let (group, pool, codecs) = (self.group, self.pool, CodecPool())
        do {
            listener = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(ChunkRequestHandler(store: store, options: options, pool: pool, codecs: codecs))
                    }
                }
                .bind(host: host, port: port).wait()
        } catch {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw error
        }
        self.port = listener.localAddress?.port ?? port
    }

    /// Stops listening, lets the store work in flight finish and answer (queued work is answered
    /// 503), then closes every connection. The pool goes first: its answers need the event loop.
    public func stop() {
        try? listener.close().wait()
        try? pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }
}

/// What one request gets back.
struct ChunkResponse: Sendable {
    var status: HTTPResponseStatus
    var body: [UInt8]
    var contentType = "application/octet-stream"

    static func refusal(_ refusal: ChunkRefusal) -> ChunkResponse {
        ChunkResponse(status: HTTPResponseStatus(statusCode: refusal.status), body: Array((refusal.message + "\n").utf8),
                      contentType: "text/plain; charset=utf-8")
    }
}

// One HTTP connection of the chunk server: gathers a request (refusing bodies over the limit),
// answers what ChunkRoute refuses at once, and hands the rest to the thread pool. NIO's server
// pipeline handler passes requests on one at a time, so answers go out in request order.
import Chunks
import Locks
import NIOCore
import NIOHTTP1
import NIOPosix

final class ChunkRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let store: any WritableChunkStore
    let options: ChunkServerOptions
    let pool: NIOThreadPool
    let codecs: CodecPool
    /// The request being read and what it asks for (or why it is refused, answered at its end).
    private var head: HTTPRequestHead?
    private var route: Result<ChunkRequest, ChunkRefusal>?
    private var body: ByteBuffer?
    /// Set once a request was refused before its body arrived: the rest of it is ignored and the
    /// connection closes after the answer.
    private var discarding = false
    /// The early refusal's last write: the connection closes once it is out.
    private var refused: EventLoopFuture<Void>?

    init(store: any WritableChunkStore, options: ChunkServerOptions, pool: NIOThreadPool, codecs: CodecPool) {
        self.store = store
        self.options = options
        self.pool = pool
        self.codecs = codecs
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            (head, body, discarding) = (request, nil, false)
            route = ChunkRoute.parse(method: request.method.rawValue, uri: request.uri, form: options.form, writable: options.writable)
            let length = request.headers.first(name: "Content-Length").flatMap(Int.init)
            let hasBody = (length ?? 0) > 0 || request.headers.contains(name: "Transfer-Encoding")
            // A body nobody will store is not read: refused at once, before it arrives.
            if hasBody, case .failure(let refusal) = route { refuseEarly(refusal, request, context) }
            if let length, length > options.maxBody { refuseEarly(tooLarge(length), request, context) }
        case .body(var part):
            guard !discarding else { return }
            let total = (body?.readableBytes ?? 0) + part.readableBytes
            if total > options.maxBody, let request = head {
                body = nil
                refuseEarly(tooLarge(total), request, context)
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            defer { (head, route, body, discarding, refused) = (nil, nil, nil, false, nil) }
            if discarding {
                let channel = context.channel
                refused?.whenComplete { _ in channel.close(promise: nil) }
                return
            }
            guard let request = head, let route else { return }
            respond(to: request, route, body: body, context: context)
        }
    }

    private func tooLarge(_ bytes: Int) -> ChunkRefusal {
        ChunkRefusal(413, "request body of \(bytes) bytes is over the limit of \(options.maxBody)")
    }

    /// Answers `refusal` before the request's body has been read, and closes the connection after.
    private func refuseEarly(_ refusal: ChunkRefusal, _ request: HTTPRequestHead, _ context: ChannelHandlerContext) {
        guard !discarding else { return }
        discarding = true
        options.log?("chunk-server: \(request.method.rawValue) \(request.uri): \(refusal)")
        // Closed once the client has sent the rest (closing with unread bytes would reset the
        // connection, and the client might never read the answer), or after 5 s at most.
        let channel = context.channel
        refused = Self.send(.refusal(refusal), on: channel, bodyless: request.method == .HEAD, keepAlive: false,
                            version: request.version, closeAfter: false)
        context.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }

    private func respond(to request: HTTPRequestHead, _ route: Result<ChunkRequest, ChunkRefusal>, body: ByteBuffer?,
                         context: ChannelHandlerContext) {
        let channel = context.channel
        let (keepAlive, version, log) = (request.isKeepAlive, request.version, options.log)
        let what = "\(request.method.rawValue) \(request.uri)"
        let chunkRequest: ChunkRequest
        switch route {
        case .failure(let refusal):
            log?("chunk-server: \(what): \(refusal)")
            Self.send(.refusal(refusal), on: channel, bodyless: request.method == .HEAD, keepAlive: keepAlive, version: version)
            return
        case .success(let request):
            chunkRequest = request
        }
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        let (store, options, codecs) = (self.store, self.options, self.codecs)
        pool.runIfActive(eventLoop: context.eventLoop) {
            ChunkService.answer(chunkRequest, body: bytes, store: store, options: options, codecs: codecs)
        }.whenComplete { result in
            let response = (try? result.get()) ?? .refusal(ChunkRefusal(503, "the server is stopping"))
            if response.status.code >= 400 { log?("chunk-server: \(what): \(response.status.code) \(String(decoding: response.body, as: UTF8.self))") }
            Self.send(response, on: channel, bodyless: chunkRequest.isHead, keepAlive: keepAlive, version: version)
        }
    }

    /// Writes `response` (without its body for HEAD, with the length GET would send).
    @discardableResult
    static func send(_ response: ChunkResponse, on channel: any Channel, bodyless: Bool, keepAlive: Bool, version: HTTPVersion,
                     closeAfter: Bool? = nil) -> EventLoopFuture<Void> {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Content-Type", value: response.contentType)
        if response.status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD, PUT") }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: response.status, headers: headers)), promise: nil)
        if !bodyless && !response.body.isEmpty {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: response.body))), promise: nil)
        }
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if closeAfter ?? !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
        return done
    }
}

extension ChunkRequest {
    var isHead: Bool { if case .head = self { true } else { false } }
}

/// The store's side of a request, run on the thread pool.
enum ChunkService {
    static func answer(_ request: ChunkRequest, body: [UInt8], store: any WritableChunkStore, options: ChunkServerOptions,
                       codecs: CodecPool) -> ChunkResponse {
        codecs.withCodec { codec in answer(request, body: body, store: store, options: options, codec: codec) }
    }

    static func answer(_ request: ChunkRequest, body: [UInt8], store: any WritableChunkStore, options: ChunkServerOptions,
                       codec: ChunkCodec) -> ChunkResponse {
        do throws(ChunkStoreError) {
            switch request {
            case .get(let id), .head(let id):
                return ChunkResponse(status: .ok, body: try served(store.chunk(id), form: options.form, codec: codec))
            case .put(let id):
                let chunk = StoredChunk(id: id, form: options.form, bytes: body)
                let raw: [UInt8]
                do {
                    raw = try codec.decode(chunk, digest: options.digest)
                } catch {
                    return .refusal(ChunkRefusal(400, "refused: \(error)"))
                }
                try store.store(store.form == chunk.form ? chunk : raw.withUnsafeBytes { codec.encode($0, id: id, form: store.form) })
                return ChunkResponse(status: .ok, body: [])
            }
        } catch {
            switch error {
            case .missing: return .refusal(ChunkRefusal(404, error.description))
            case .invalid: return .refusal(ChunkRefusal(500, error.description))
            case .unavailable: return .refusal(ChunkRefusal(503, error.description))
            }
        }
    }

    /// `stored` in `form`: as stored, or compressed or decompressed on the way out.
    static func served(_ stored: StoredChunk, form: ChunkForm, codec: ChunkCodec) throws(ChunkStoreError) -> [UInt8] {
        if stored.form == form { return stored.bytes }
        switch form {
        case .compressed: return stored.bytes.withUnsafeBytes { codec.compress($0) }
        case .uncompressed: return try codec.uncompressed(stored)
        }
    }
}

/// zstd contexts for the thread pool's work, kept rather than made per request (a context is a
/// few hundred KiB of setup). A codec is used by one thread at a time: it is taken out under the
/// lock and put back after.
final class CodecPool: @unchecked Sendable {
    /// A codec handed between threads, never used by two at once.
    private struct Held: @unchecked Sendable { let codec: ChunkCodec }
    private let idle = SanitizedMutex<[Held]>([])

    func withCodec<R>(_ body: (ChunkCodec) -> R) -> R {
        let held = idle.withLock { $0.popLast() } ?? Held(codec: ChunkCodec())
        defer { idle.withLock { $0.append(held) } }
        return body(held.codec)
    }
}

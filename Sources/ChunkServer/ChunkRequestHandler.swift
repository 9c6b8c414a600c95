// One HTTP connection of the chunk server: gathers a request (refusing bodies over the limit),
// answers what ChunkRoute refuses at once, and hands the rest to the thread pool. NIO's server
// pipeline handler passes requests on one at a time, so answers go out in request order.
import Chunks
import NIOCore
import NIOHTTP1
import NIOPosix

final class ChunkRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let store: any WritableChunkStore
    let options: ChunkServerOptions
    let pool: NIOThreadPool
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var refusal: ChunkRefusal?

    init(store: any WritableChunkStore, options: ChunkServerOptions, pool: NIOThreadPool) {
        self.store = store
        self.options = options
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            (head, body, refusal) = (request, nil, nil)
            if let length = request.headers.first(name: "Content-Length").flatMap(Int.init), length > options.maxBody {
                refusal = tooLarge(length)
            }
        case .body(var part):
            guard refusal == nil else { return }
            let total = (body?.readableBytes ?? 0) + part.readableBytes
            if total > options.maxBody {
                (refusal, body) = (tooLarge(total), nil)
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, body: body, context: context)
            body = nil
        }
    }

    private func tooLarge(_ bytes: Int) -> ChunkRefusal {
        ChunkRefusal(413, "request body of \(bytes) bytes is over the limit of \(options.maxBody)")
    }

    private func respond(to request: HTTPRequestHead, body: ByteBuffer?, context: ChannelHandlerContext) {
        let channel = context.channel
        let (keepAlive, version, log) = (request.isKeepAlive, request.version, options.log)
        let what = "\(request.method.rawValue) \(request.uri)"
        if let refusal {
            log?("chunk-server: \(what): \(refusal)")
            return Self.send(.refusal(refusal), on: channel, bodyless: false, keepAlive: false, version: version)
        }
        let parsed = ChunkRoute.parse(method: request.method.rawValue, uri: request.uri, form: options.form, writable: options.writable)
        guard case .success(let chunkRequest) = parsed else {
            if case .failure(let refusal) = parsed {
                log?("chunk-server: \(what): \(refusal)")
                Self.send(.refusal(refusal), on: channel, bodyless: request.method == .HEAD, keepAlive: keepAlive, version: version)
            }
            return
        }
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        let (store, options) = (self.store, self.options)
        pool.runIfActive(eventLoop: context.eventLoop) {
            ChunkService.answer(chunkRequest, body: bytes, store: store, options: options)
        }.whenComplete { result in
            let response = (try? result.get()) ?? .refusal(ChunkRefusal(503, "the server is stopping"))
            if response.status.code >= 400 { log?("chunk-server: \(what): \(response.status.code) \(String(decoding: response.body, as: UTF8.self))") }
            Self.send(response, on: channel, bodyless: chunkRequest.isHead, keepAlive: keepAlive, version: version)
        }
    }

    /// Writes `response` (without its body for HEAD, with the length GET would send).
    static func send(_ response: ChunkResponse, on channel: any Channel, bodyless: Bool, keepAlive: Bool, version: HTTPVersion) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Content-Type", value: response.contentType)
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: response.status, headers: headers)), promise: nil)
        if !bodyless && !response.body.isEmpty {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: response.body))), promise: nil)
        }
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }
}

extension ChunkRequest {
    var isHead: Bool { if case .head = self { true } else { false } }
}

/// The store's side of a request, run on the thread pool.
enum ChunkService {
    static func answer(_ request: ChunkRequest, body: [UInt8], store: any WritableChunkStore, options: ChunkServerOptions) -> ChunkResponse {
        do throws(ChunkStoreError) {
            switch request {
            case .get(let id), .head(let id):
                return ChunkResponse(status: .ok, body: try served(store.chunk(id), form: options.form))
            case .put(let id):
                let chunk = StoredChunk(id: id, form: options.form, bytes: body)
                let codec = ChunkCodec()
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
    static func served(_ stored: StoredChunk, form: ChunkForm) throws(ChunkStoreError) -> [UInt8] {
        if stored.form == form { return stored.bytes }
        let codec = ChunkCodec()
        switch form {
        case .compressed: return stored.bytes.withUnsafeBytes { codec.compress($0) }
        case .uncompressed: return try codec.uncompressed(stored)
        }
    }
}

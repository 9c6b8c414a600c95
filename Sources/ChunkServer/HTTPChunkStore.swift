// A chunk store over HTTP, the client side of desync's protocol (see ChunkRoute): GET, HEAD and
// PUT of `<base>/<4 hex>/<id><ext>` against `kura chunk-server`, desync's chunk-server or any
// static web server over a store directory. The store protocols are synchronous and called from
// worker threads, so each call borrows a kept-alive connection from a small pool and waits for
// its answer. As in desync, network errors and 5xx answers are retried (3 attempts, linear back
// off); a 404 is `missing`, so an extract names the chunk.
import Chunks
import Locks
import NIOCore
import NIOHTTP1
import NIOPosix

public final class HTTPChunkStore: WritableChunkStore {
    public let form: ChunkForm
    let host: String
    let port: Int
    /// HOST[:PORT] as the URL gave it, for the Host header.
    let authority: String
    /// The URL path every chunk path is appended to, with its trailing slash.
    let basePath: String
    let group: any EventLoopGroup
    let timeout: TimeAmount
    let attempts: Int
    private let idle = SanitizedMutex<[HTTPConnection]>([])
    /// Set when a request found no server after all its attempts: for the next two seconds other
    /// requests fail at once with the same reason, so an extract from a store that is down fails
    /// in a moment, not after every chunk's retries.
    private let down = SanitizedMutex<(until: ContinuousClock.Instant, reason: String)?>(nil)

    /// `url`: `http://HOST[:PORT][/PREFIX/]`; HOST may be an IPv6 literal in brackets. A query or
    /// fragment is no part of the store's address (casync drops them too).
    public init(url: String, form: ChunkForm = .compressed, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                timeout: TimeAmount = .seconds(60), attempts: Int = 3) throws(ChunkStoreError) {
        let parsed = try Self.parse(url)
        (self.host, self.port, self.authority, self.basePath) = (parsed.host, parsed.port, parsed.authority, parsed.path)
        (self.form, self.group, self.timeout, self.attempts) = (form, group, timeout, max(1, attempts))
    }

    /// The parts of an `http://` store URL.
    static func parse(_ url: String) throws(ChunkStoreError) -> (host: String, port: Int, authority: String, path: String) {
        guard url.hasPrefix("http://") else {
            throw .unavailable(nil, reason: "store \(url): only http:// stores are supported by this build")
        }
        let rest = url.dropFirst("http://".count).prefix { $0 != "?" && $0 != "#" }
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        if !path.hasSuffix("/") { path += "/" }
        var host = Substring(authority)
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .unavailable(nil, reason: "store \(url): unclosed [ in the host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { host = "" }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        let port = portText.map { Int($0) } ?? 80
        guard !host.isEmpty, let port, (1...65535).contains(port) else {
            throw .unavailable(nil, reason: "store \(url): expected http://HOST[:PORT]/ or http://[IPv6]:PORT/")
        }
        return (String(host), port, String(authority), path)
    }

    deinit {
        for connection in idle.withLock({ $0 }) { connection.channel.close(promise: nil) }
    }

    func path(_ id: ChunkID) -> String { "\(basePath)\(id.hex.prefix(4))/\(id.hex)\(form.fileExtension)" }

    public func contains(_ id: ChunkID) throws(ChunkStoreError) -> Bool {
        let answer = try exchange(.HEAD, id, body: nil)
        switch answer.status {
        case 200: return true
        case 404: return false
        default: throw refusal(id, answer)
        }
    }

    public func chunk(_ id: ChunkID) throws(ChunkStoreError) -> StoredChunk {
        let answer = try exchange(.GET, id, body: nil)
        switch answer.status {
        case 200: return StoredChunk(id: id, form: form, bytes: answer.body)
        case 404: throw .missing(id)
        default: throw refusal(id, answer)
        }
    }

    public func store(_ chunk: StoredChunk) throws(ChunkStoreError) {
        precondition(chunk.form == form, "chunk \(chunk.id) in form \(chunk.form), HTTP store travels in \(form)")
        let answer = try exchange(.PUT, chunk.id, body: chunk.bytes)
        guard answer.status == 200 || answer.status == 201 else { throw refusal(chunk.id, answer) }
    }

    private func refusal(_ id: ChunkID, _ answer: HTTPAnswer) -> ChunkStoreError {
        let text = Self.text(answer.body)
        return .unavailable(id, reason: "http://\(authority)\(path(id)) answered \(answer.status)\(text.isEmpty ? "" : ": \(text)")")
    }

    /// One request, retried on network errors and 5xx answers (desync's back-off: 500 ms × attempt).
    private func exchange(_ method: HTTPMethod, _ id: ChunkID, body: [UInt8]?) throws(ChunkStoreError) -> HTTPAnswer {
        if let down = down.withLock({ $0 }), ContinuousClock.now < down.until {
            throw .unavailable(id, reason: down.reason)
        }
        var failure = "no attempt"
        var connected = false
        for attempt in 0..<attempts {
            if attempt > 0 { usleep(UInt32(500_000 * attempt)) }
            connected = false
            do {
                let connection = try borrow()
                connected = true
                let answer = try connection.send(method: method, path: path(id), authority: authority, body: body, timeout: timeout).wait()
                if connection.channel.isActive && answer.keepAlive { idle.withLock { $0.append(connection) } } else { connection.channel.close(promise: nil) }
                down.withLock { $0 = nil }  // the server answered
                if answer.status >= 500 {
                    failure = "answered \(answer.status): \(Self.text(answer.body))"
                    continue
                }
                return answer
            } catch {
                failure = "\(error)"
            }
        }
        // The last attempt found no server: the requests of the next 2 s fail at once.
        if !connected { down.withLock { $0 = (ContinuousClock.now + .seconds(2), "no server at http://\(authority)/: \(failure)") } }
        throw .unavailable(id, reason: "http://\(authority)\(path(id)): \(failure) (after \(attempts) attempts)")
    }

    /// The start of an answer's body as one line of text.
    static func text(_ body: [UInt8]) -> String {
        String(String(decoding: body.prefix(300), as: UTF8.self).reversed().drop { $0.isWhitespace }.reversed())
    }

    private func borrow() throws -> HTTPConnection {
        while let connection = idle.withLock({ $0.popLast() }) {
            if connection.channel.isActive { return connection }
        }
        let collector = HTTPAnswerCollector()
        let channel = try ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).wait()
        return HTTPConnection(channel: channel, collector: collector)
    }
}

struct HTTPAnswer: Sendable {
    var status: Int
    var body: [UInt8]
    var keepAlive: Bool
}

struct HTTPStoreError: Error, CustomStringConvertible {
    var description: String
}

/// One kept-alive connection, used by one request at a time.
final class HTTPConnection: Sendable {
    let channel: any Channel
    let collector: HTTPAnswerCollector

    init(channel: any Channel, collector: HTTPAnswerCollector) {
        self.channel = channel
        self.collector = collector
    }

    func send(method: HTTPMethod, path: String, authority: String, body: [UInt8]?, timeout: TimeAmount) -> EventLoopFuture<HTTPAnswer> {
        let (channel, collector) = (self.channel, self.collector)
        return channel.eventLoop.flatSubmit {
            // A pooled connection the server closed while it waited: fail now, the caller retries.
            guard channel.isActive else {
                return channel.eventLoop.makeFailedFuture(HTTPStoreError(description: "kept-alive connection closed by the server"))
            }
            let answer = channel.eventLoop.makePromise(of: HTTPAnswer.self)
            collector.start(answer)
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                collector.fail(HTTPStoreError(description: "no answer within \(timeout.nanoseconds / 1_000_000_000) s"))
                channel.close(promise: nil)
            }
            answer.futureResult.whenComplete { _ in timer.cancel() }
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: authority)
            if let body { headers.add(name: "Content-Length", value: "\(body.count)") }
            channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)), promise: nil)
            if let body, !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { error in
                collector.fail(error)
                channel.close(promise: nil)
            }
            return answer.futureResult
        }
    }
}

/// Gathers the answer to the request in flight; lives on the connection's event loop.
final class HTTPAnswerCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private var promise: EventLoopPromise<HTTPAnswer>?
    private var status = 0
    private var keepAlive = true
    private var body: [UInt8] = []

    func start(_ promise: EventLoopPromise<HTTPAnswer>) {
        precondition(self.promise == nil, "HTTP connection used by two requests at once")
        (self.promise, status, body) = (promise, 0, [])
    }

    func fail(_ error: any Error) {
        promise?.fail(error)
        promise = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            (status, keepAlive) = (Int(head.status.code), head.isKeepAlive)
        case .body(let part):
            body.append(contentsOf: part.readableBytesView)
        case .end:
            promise?.succeed(HTTPAnswer(status: status, body: body, keepAlive: keepAlive))
            (promise, body) = (nil, [])
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(HTTPStoreError(description: "connection closed before the answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }
}

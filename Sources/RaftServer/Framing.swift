// Length-prefixed frames on a NIO channel: u32 little-endian body length, then the body.
import NIOCore

/// Splits the byte stream into frame bodies; a frame over `frameBytesMax` closes the connection.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return .needMoreData
        }
        guard Int(length) <= frameBytesMax else { throw WireError.frameTooLong(Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let body = buffer.readBytes(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(body))
        return .continue
    }
}

extension ByteBufferAllocator {
    /// One frame holding `body`.
    func frame(_ body: [UInt8]) -> ByteBuffer {
        var buffer = self.buffer(capacity: 4 + body.count)
        buffer.writeInteger(UInt32(body.count), endianness: .little)
        buffer.writeBytes(body)
        return buffer
    }
}

/// "host:port" split into its parts, with a message naming what is wrong.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(WireError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65535).contains(port), colon != text.startIndex
        else { throw .malformed("address '\(text)' is not host:port") }
        self.init(host: String(text[..<colon]), port: port)
    }

    public var description: String { "\(host):\(port)" }
}

#if canImport(Glibc)
import Glibc
#endif

extension HostPort {
    /// A port of 127.0.0.1 that was free a moment ago (the kernel's pick), for tests and benchmarks.
    public static func freeLoopbackPort() throws(WireError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw .malformed("no free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

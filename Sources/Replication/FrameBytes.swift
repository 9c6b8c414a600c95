// The byte level of replication frames: little-endian fixed widths, LEB128 varints and zigzag
// signed varints (small deltas of either sign take one byte). Every read is bounds-checked and a
// failure names what was being read, because frames come from the network.

public enum ReplicationError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let what): "malformed replication frame: \(what)"
        }
    }
}

public struct FrameWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
    }

    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func zigzag(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    public mutating func append(_ other: some Collection<UInt8>) { bytes.append(contentsOf: other) }
}

public struct FrameReader: Sendable {
    let bytes: [UInt8]
    var offset: Int
    let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    init(_ bytes: [UInt8], from offset: Int, to end: Int) {
        self.bytes = bytes
        self.offset = offset
        self.end = end
    }

    public var isAtEnd: Bool { offset == end }

    public mutating func u8(_ what: @autoclosure () -> String) throws(ReplicationError) -> UInt8 {
        guard offset < end else { throw .malformed("\(what()) past the end") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u32(_ what: @autoclosure () -> String) throws(ReplicationError) -> UInt32 {
        guard end - offset >= 4 else { throw .malformed("\(what()) past the end") }
        defer { offset += 4 }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    /// At most 10 bytes; an 11th, or bits beyond 64, are refused rather than wrapped.
    public mutating func varint(_ what: @autoclosure () -> String) throws(ReplicationError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw .malformed("\(what()): varint past the end") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 63 || (shift == 63 && byte <= 1) else { throw .malformed("\(what()): varint over 64 bits") }
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    public mutating func zigzag(_ what: @autoclosure () -> String) throws(ReplicationError) -> Int64 {
        let v = try varint(what())
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// A length-prefixed body, read by `body` from a reader that must consume it exactly.
    public mutating func nested<T>(
        _ what: @autoclosure () -> String, _ body: (inout FrameReader) throws(ReplicationError) -> T
    ) throws(ReplicationError) -> T {
        let length = try varint("\(what()) length")
        guard length <= UInt64(end - offset) else { throw .malformed("\(what()) of \(length) bytes past the end") }
        var inner = FrameReader(bytes, from: offset, to: offset + Int(length))
        let value = try body(&inner)
        guard inner.isAtEnd else { throw .malformed("\(what()) has \(inner.end - inner.offset) bytes left over") }
        offset += Int(length)
        return value
    }
}

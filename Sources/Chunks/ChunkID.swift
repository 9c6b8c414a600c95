// A chunk's identity: the 32-byte digest (SHA-512/256 by default, SHA-256 when the index says so)
// of its uncompressed bytes. Store paths and logs use the 64-character lowercase hex form.

public struct ChunkID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The digest as four big-endian words, so comparing words compares bytes in order.
    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// - Precondition: exactly 32 bytes.
    public init<Bytes: Collection<UInt8>>(bytes: Bytes) {
        precondition(bytes.count == 32, "a chunk ID has 32 bytes, got \(bytes.count)")
        var w: [UInt64] = [0, 0, 0, 0]
        for (i, b) in bytes.enumerated() {
            w[i / 8] = w[i / 8] << 8 | UInt64(b)
        }
        words = (w[0], w[1], w[2], w[3])
    }

    /// Parses 64 hex digits (either case); nil for anything else.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var w: [UInt64] = [0, 0, 0, 0]
        for (i, c) in utf8.enumerated() {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            w[i / 16] = w[i / 16] << 4 | UInt64(v)
        }
        words = (w[0], w[1], w[2], w[3])
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [words.0, words.1, words.2, words.3] {
            for shift in stride(from: 56, through: 0, by: -8) {
                out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return out
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func == (a: ChunkID, b: ChunkID) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public static func < (a: ChunkID, b: ChunkID) -> Bool {
        (a.words.0, a.words.1, a.words.2, a.words.3) < (b.words.0, b.words.1, b.words.2, b.words.3)
    }

    public func hash(into hasher: inout Hasher) {
        // The digest is already uniform; one word is plenty for a hash table.
        hasher.combine(words.0)
    }
}

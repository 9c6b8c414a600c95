// CRC-32C (Castagnoli), the checksum of every write-ahead-log record: it catches torn and flipped
// bits far better than CRC-32 for the short records a log holds. The SSE4.2 instruction where the
// CPU has it (tens of times faster: every byte of every entry is summed on every replica);
// slicing-by-8 with a table built once elsewhere, and as the reference the tests compare against.
import CCRC32C

enum CRC32C {
    static let hardware = kura_crc32c_hardware() != 0

    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            tables[0][n] = c
        }
        for n in 0..<256 {
            for k in 1..<8 { tables[k][n] = (tables[k - 1][n] >> 8) ^ tables[0][Int(tables[k - 1][n] & 0xff)] }
        }
        return tables
    }()

    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        if hardware { return ~kura_crc32c_update(~seed, bytes.baseAddress, bytes.count) }
        return software(bytes, seed: seed)
    }

    static func software(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        var i = 0
        let t = tables
        let n = bytes.count
        while i + 8 <= n {
            let lo = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            let hi = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
            let x = lo ^ crc
            crc = t[7][Int(x & 0xff)] ^ t[6][Int((x >> 8) & 0xff)] ^ t[5][Int((x >> 16) & 0xff)] ^ t[4][Int(x >> 24)]
                ^ t[3][Int(hi & 0xff)] ^ t[2][Int((hi >> 8) & 0xff)] ^ t[1][Int((hi >> 16) & 0xff)] ^ t[0][Int(hi >> 24)]
            i += 8
        }
        while i < n {
            crc = t[0][Int((crc ^ UInt32(bytes[i])) & 0xff)] ^ (crc >> 8)
            i += 1
        }
        return ~crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}

// Compact binary export: LEB128 varints, zigzag for signed values, length-prefixed strings and
// records. Layout: "KTB1", schema name, schema version, feed position, record count, then per
// record: version, expiry (0 = never, else zigzag + 1), payload length, payload.

public protocol BinaryRecord: TableRecord {
    func encode(to writer: inout BinaryWriter)
    init(from reader: inout BinaryReader) throws(TableError)
}

public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    public mutating func write(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func write(_ value: Int64) {
        write(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func write(bytes other: [UInt8]) {
        write(UInt64(other.count))
        bytes.append(contentsOf: other)
    }

    mutating func append(raw: [UInt8]) { bytes.append(contentsOf: raw) }
    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }
}

public struct BinaryReader: Sendable {
    let bytes: [UInt8]
    public internal(set) var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func readUInt() throws(TableError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw .malformed("truncated varint at byte \(offset)") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw .malformed("varint too long at byte \(offset)") }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    public mutating func readInt() throws(TableError) -> Int64 {
        let raw = try readUInt()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    public mutating func readBytes() throws(TableError) -> ArraySlice<UInt8> {
        let count = try readUInt()
        guard count <= UInt64(bytes.count - offset) else { throw .malformed("length \(count) past end at byte \(offset)") }
        let slice = bytes[offset..<offset + Int(count)]
        offset += Int(count)
        return slice
    }

    public mutating func readString() throws(TableError) -> String {
        String(decoding: try readBytes(), as: UTF8.self)
    }
}

extension TableSnapshot where Row: BinaryRecord {
    static var magic: [UInt8] { Array("KTB1".utf8) }

    public func encoded(schema: TableSchema<Row>) -> [UInt8] {
        var records: [(Row, UInt64, Int64)] = []
        forEach { records.append(($0, $1, $2)) }
        var out = BinaryWriter()
        out.append(raw: Self.magic)
        out.write(schema.name)
        out.write(UInt64(schema.version))
        out.write(position)
        out.write(UInt64(records.count))
        var payload = BinaryWriter()
        for (row, version, expiry) in records {
            out.write(version)
            out.write(expiry == .max ? 0 : UInt64(bitPattern: (expiry << 1) ^ (expiry >> 63)) &+ 1)
            payload.removeAll()
            row.encode(to: &payload)
            out.write(bytes: payload.bytes)
        }
        return out.bytes
    }

    /// Decodes an export: its records with versions and expiries, and its position.
    public static func decode(_ bytes: [UInt8], schema: TableSchema<Row>)
        throws(TableError) -> (records: [(row: Row, version: UInt64, expiry: Int64)], position: UInt64)
    {
        guard bytes.starts(with: magic) else { throw .malformed("not a table export") }
        var reader = BinaryReader(bytes)
        reader.offset = magic.count
        let name = try reader.readString()
        let version = try reader.readUInt()
        guard name == schema.name && version == UInt64(schema.version) else {
            throw .schemaMismatch(expected: "\(schema.name) v\(schema.version)", found: "\(name) v\(version)")
        }
        let position = try reader.readUInt()
        let count = try reader.readUInt()
        guard count <= UInt64(bytes.count) else { throw .malformed("record count \(count) exceeds size") }
        var records: [(row: Row, version: UInt64, expiry: Int64)] = []
        records.reserveCapacity(Int(count))
        for _ in 0..<count {
            let recordVersion = try reader.readUInt()
            let rawExpiry = try reader.readUInt()
            let expiry = rawExpiry == 0 ? Int64.max : Int64(bitPattern: (rawExpiry - 1) >> 1) ^ -Int64(bitPattern: (rawExpiry - 1) & 1)
            var payload = BinaryReader(Array(try reader.readBytes()))
            let row = try Row(from: &payload)
            guard payload.isAtEnd else { throw .malformed("record payload has \(payload.bytes.count - payload.offset) extra bytes") }
            records.append((row, recordVersion, expiry))
        }
        guard reader.isAtEnd else { throw .malformed("\(bytes.count - reader.offset) bytes after the last record") }
        return (records, position)
    }
}

extension Table where Row: BinaryRecord {
    /// A consistent binary export (taken from a snapshot; the table stays writable meanwhile).
    public func export() -> [UInt8] { snapshot().encoded(schema: schema) }

    /// A new table holding an export's records; its feed continues after the export's position.
    public static func importing(
        _ bytes: [UInt8], schema: TableSchema<Row>, options: TableOptions<Row> = TableOptions(),
        clock: any TableClock, clean: Bool = true
    ) throws(TableError) -> Table {
        let (records, position) = try TableSnapshot<Row>.decode(bytes, schema: schema)
        let state = try TableState.loading(records, position: position, schema: schema, options: options,
                                           now: clock.now().nanoseconds, clean: clean)
        return Table(schema, clock: clock, state: state)
    }
}

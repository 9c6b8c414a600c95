// Shared test fixtures: a record type with one index of each kind, a seeded generator.
import Tables
import struct Raft.SplitMix64

struct Player: BinaryRecord, Equatable, CustomStringConvertible {
    var id: Int64
    var owner: Int64
    var score: Int64
    var name: String
    var tag: Int64
    var count: Int64

    var key: Int64 { id }
    var description: String { "P(\(id) o\(owner) s\(score) \(name) t\(tag) c\(count))" }

    static let ownerColumn = Column<Player>("owner", \.owner)  // read at its offset
    static let scoreColumn = Column<Player>("score", \.score)
    static let nameColumn = Column<Player>("name") { .string($0.name) }
    static let tagColumn = Column<Player>("tag") { .int($0.tag) }
    static let countColumn = Column<Player>("count") { .int($0.count) }  // through its closure

    /// owner: hash; score: ordered; name: unique hash; tag: unique ordered; count: not indexed.
    static let schema = TableSchema<Player>(name: "players", indexes: [
        IndexSpec(ownerColumn, .hash),
        IndexSpec(scoreColumn, .ordered),
        IndexSpec(nameColumn, .hash, unique: true),
        IndexSpec(tagColumn, .ordered, unique: true),
    ])

    func encode(to writer: inout BinaryWriter) {
        writer.write(id)
        writer.write(owner)
        writer.write(score)
        writer.write(name)
        writer.write(tag)
        writer.write(count)
    }

    init(from reader: inout BinaryReader) throws(TableError) {
        id = try reader.readInt()
        owner = try reader.readInt()
        score = try reader.readInt()
        name = try reader.readString()
        tag = try reader.readInt()
        count = try reader.readInt()
    }

    init(id: Int64, owner: Int64 = 0, score: Int64 = 0, name: String? = nil, tag: Int64? = nil, count: Int64 = 0) {
        self.id = id
        self.owner = owner
        self.score = score
        self.name = name ?? "p\(id)"
        self.tag = tag ?? id
        self.count = count
    }
}

/// SplitMix64: small, seeded, good enough for test sequences.
/// The seeded generator of every random test (Raft's SplitMix64).
typealias SeededGenerator = SplitMix64

extension Result where Failure == TableError {
    init(_ body: () throws(TableError) -> Success) {
        do { self = .success(try body()) } catch { self = .failure(error) }
    }
}

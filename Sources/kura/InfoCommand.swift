import ArgumentParser
import ChunkStores
import Chunks

#if canImport(Glibc)
import Glibc
#endif

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show an index's chunks, sizes and deduplication, and what a store lacks.")

    @Option(name: .short, help: "Chunk store directory to compare against.")
    var s: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Argument(help: "The index.")
    var index: String

    func run() throws {
        let chunkIndex = try readIndex(index)
        var unique: [ChunkID: Int] = [:]
        for k in 0..<chunkIndex.count where unique[chunkIndex.entries[k].id] == nil {
            unique[chunkIndex.entries[k].id] = chunkIndex.size(of: k)
        }
        let uniqueBytes = unique.values.reduce(0, +)
        var fields: [(String, String)] = [
            ("blobSize", "\(chunkIndex.blobSize)"),
            ("chunks", "\(chunkIndex.count)"),
            ("uniqueChunks", "\(unique.count)"),
            ("uniqueBytes", "\(uniqueBytes)"),
            ("chunkSizeMin", "\(chunkIndex.chunkSizeMin)"),
            ("chunkSizeAvg", "\(chunkIndex.chunkSizeAverage)"),
            ("chunkSizeMax", "\(chunkIndex.chunkSizeMax)"),
            ("digest", "\"\(chunkIndex.digest.rawValue)\""),
            ("featureFlags", "\"0x\(String(chunkIndex.featureFlags, radix: 16))\""),
        ]
        var missing: [ChunkID] = []
        if let s {
            let store = try openStore(s, create: false)
            var storedBytes: UInt64 = 0
            for id in unique.keys.sorted() {
                if try store.contains(id) {
                    storedBytes += Self.fileSize(store, id)
                } else {
                    missing.append(id)
                }
            }
            fields += [
                ("inStore", "\(unique.count - missing.count)"),
                ("missing", "\(missing.count)"),
                ("storedBytes", "\(storedBytes)"),
            ]
        }
        if json {
            var body = fields.map { "\"\($0.0)\":\($0.1)" }
            if s != nil { body.append("\"missingChunks\":[" + missing.map { "\"\($0)\"" }.joined(separator: ",") + "]") }
            print("{" + body.joined(separator: ",") + "}")
        } else {
            for (name, value) in fields { print("\(name): \(value.replacingQuotes())") }
            let ratio = chunkIndex.blobSize == 0 ? 1 : Double(uniqueBytes) / Double(chunkIndex.blobSize)
            print("within the blob: \(unique.count) distinct of \(chunkIndex.count) chunks, \((ratio * 1000).rounded() / 10)% of its bytes distinct")
            if s != nil {
                print("against the store: \(unique.count - missing.count) of \(unique.count) distinct chunks present, \(missing.count) missing")
            }
            for id in missing { print("missing chunk: \(id)") }
        }
    }

    static func fileSize(_ store: FileSystemChunkStore, _ id: ChunkID) -> UInt64 {
        store.fileStatus(of: id).map { UInt64($0.st_size) } ?? 0
    }
}

extension String {
    fileprivate func replacingQuotes() -> String { filter { $0 != "\"" } }
}

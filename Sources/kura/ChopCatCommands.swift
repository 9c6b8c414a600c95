import ArgumentParser
import ChunkStores
import Chunks

#if canImport(Glibc)
import Glibc
#endif

struct ChopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chop", abstract: "Store the chunks of an existing file as an index describes them.")

    @Option(name: .short, help: "Chunk store directory.")
    var s: String

    @OptionGroup var concurrency: ConcurrencyOption

    @Argument(help: "The index.")
    var index: String

    @Argument(help: "The file the index describes.")
    var file: String

    func run() throws {
        let chunkIndex = try readIndex(index)
        let input = try mapFile(file)
        let store = try openStore(s, create: true)
        let progress = ProgressBar("chop", total: input.count)
        let statistics = try IndexMaker.chop(
            input.bytes, index: chunkIndex, store: store, workers: try concurrency.workers, progress: progress.reporter)
        progress.finish()
        try store.flush()
        printError("\(statistics.chunks) chunks, \(statistics.chunksStored) new, \(statistics.chunksDeduplicated) already stored")
    }
}

struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Write a blob, or a byte range of it, from its index and store.")

    @Option(name: .short, help: "Chunk store directory.")
    var s: String

    @Option(name: [.short, .long], help: "First byte to write.")
    var offset: UInt64 = 0

    @Option(name: [.short, .long], help: "Bytes to write (default: to the end).")
    var length: UInt64?

    @Argument(help: "The index.")
    var index: String

    @Argument(help: "Output file (default: standard output).")
    var output: String?

    func run() throws {
        let chunkIndex = try readIndex(index)
        let store = try openStore(s, create: false)
        guard offset <= chunkIndex.blobSize else {
            throw ValidationError("--offset \(offset) is past the end of the blob (\(chunkIndex.blobSize) bytes)")
        }
        let end = length.map { min(chunkIndex.blobSize, offset + $0) } ?? chunkIndex.blobSize
        let fd: Int32 = output.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? 1
        guard fd >= 0 else { throw ValidationError("cannot open \(output ?? "stdout"): \(String(cString: strerror(errno)))") }
        defer { if fd != 1 { close(fd) } }
        guard offset < end, var k = chunkIndex.entry(containing: offset) else { return }
        let codec = ChunkCodec()
        while k < chunkIndex.count && chunkIndex.start(of: k) < end {
            let data = try codec.decode(
                store.chunk(chunkIndex.entries[k].id), digest: chunkIndex.digest, expectedSize: chunkIndex.size(of: k))
            let start = chunkIndex.start(of: k)
            let from = Int(max(offset, start) - start)
            let to = Int(min(end, chunkIndex.entries[k].end) - start)
            let failure = data.withUnsafeBytes { raw in
                FileIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[from..<to]), at: nil, path: output ?? "stdout")
            }
            if let failure { throw failure }
            k += 1
        }
    }
}

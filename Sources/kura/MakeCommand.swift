import ArgumentParser
import ChunkStores
import Chunks

struct MakeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make", abstract: "Chunk a file into a store and write its .caibx index.")

    @Option(name: .short, help: "Chunk store: a directory or http://HOST:PORT/ (PUT to a writable chunk server); without one only the index is written.")
    var s: String?

    @Option(name: .short, help: "Chunk sizes min:avg:max in KiB, as desync's -m (default 16:64:256).")
    var m: String?

    @Option(help: "Chunk sizes MIN:AVG:MAX in bytes, as casync's --chunk-size (instead of -m).")
    var chunkSize: String?

    @Option(help: "Chunk digest: sha512-256 (casync's default) or sha256.")
    var digest: String = ChunkDigest.sha512_256.rawValue

    @Flag(help: "Store chunks uncompressed (bare <id> files) instead of zstd .cacnk.")
    var uncompressed = false

    @OptionGroup var concurrency: ConcurrencyOption

    @Argument(help: "The index file to write.")
    var index: String

    @Argument(help: "The file to chunk.")
    var file: String

    func chunkerParameters() throws -> ChunkerParameters {
        do {
            switch (m, chunkSize) {
            case (nil, nil): return .default
            case (let kib?, nil): return try ChunkerParameters(desyncKiB: kib)
            case (nil, let bytes?):
                let values = bytes.split(separator: ":").compactMap { Int($0) }
                guard values.count == 3 else { throw ChunkerParametersError.malformed(bytes) }
                return try ChunkerParameters(min: values[0], average: values[1], max: values[2])
            case (_?, _?): throw ValidationError("give chunk sizes with -m (KiB) or --chunk-size (bytes), not both")
            }
        } catch let error as ChunkerParametersError {
            throw ValidationError("chunk sizes: \(error)")
        }
    }

    func run() throws {
        let parameters = try chunkerParameters()
        guard let digest = ChunkDigest(rawValue: digest) else {
            throw ValidationError("--digest must be sha512-256 or sha256, got '\(self.digest)'")
        }
        let workers = try concurrency.workers
        let store = try s.map { try openAnyStore($0, form: uncompressed ? .uncompressed : .compressed, create: true) }
        let input = try mapFile(file)
        let progress = ProgressBar("make", total: input.count)
        let (chunkIndex, statistics) = try IndexMaker.make(
            input.bytes, parameters: parameters, digest: digest, store: store, workers: workers,
            progress: progress.reporter)
        progress.finish()
        // Chunks first, durably, then the index that names them.
        try (store as? FileSystemChunkStore)?.flush()  // an HTTP store acknowledged each chunk
        try FileIO.writeAtomically(index, bytes: chunkIndex.encoded())
        printError(
            "\(statistics.chunks) chunks, \(statistics.chunksStored) new (\(formatBytes(UInt64(statistics.bytesStored))) written), "
                + "\(statistics.chunksDeduplicated) already stored")
    }
}

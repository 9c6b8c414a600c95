import ArgumentParser
import ChunkStores
import Chunks

struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Rebuild a file from its index, taking chunks from seeds and the store.",
        discussion: """
            The file is written under a temporary name and renamed into place only when complete, so a \
            wrong or partial file never stands under the target name. An existing target is used as a seed.
            """)

    @Option(name: .short, help: "Chunk store: a directory, or http://HOST:PORT/ (desync's HTTP protocol).")
    var s: String

    @Option(name: .customLong("seed"), help: "A seed index; its blob is INDEX without .caibx, or INDEX:FILE. Repeatable.")
    var seeds: [String] = []

    @Flag(help: "Do not reuse an existing target file's content as a seed.")
    var noTargetSeed = false

    @Flag(help: "Make the file durable (fsync) before renaming it into place.")
    var sync = false

    @OptionGroup var concurrency: ConcurrencyOption

    @Argument(help: "The index of the file to extract.")
    var index: String

    @Argument(help: "The file to write.")
    var file: String

    func run() throws {
        let workers = try concurrency.workers
        let chunkIndex = try readIndex(index)
        let store = try openAnyStore(s, create: false)
        let seedList = try seeds.map(Self.loadSeed)
        let progress = ProgressBar("extract", total: Int(chunkIndex.blobSize))
        let statistics = try Extractor.extract(
            index: chunkIndex, store: store, seeds: seedList, target: file, reuseTarget: !noTargetSeed, sync: sync,
            workers: workers, progress: progress.reporter)
        progress.finish()
        var summary = "\(statistics.chunks) chunks: \(statistics.chunksFromStore) from the store, "
            + "\(statistics.chunksFromSeeds) from seeds, \(statistics.chunksOfZeros) zero"
        if statistics.seedMismatches > 0 { summary += ", \(statistics.seedMismatches) seed chunks did not match" }
        printError(summary)
    }

    static func loadSeed(_ argument: String) throws -> Seed {
        var indexPath = argument
        var blobPath: String
        if let colon = argument.lastIndex(of: ":") {
            indexPath = String(argument[..<colon])
            blobPath = String(argument[argument.index(after: colon)...])
        } else if argument.hasSuffix(".caibx") {
            blobPath = String(argument.dropLast(6))
        } else {
            throw ValidationError("--seed \(argument): name the seed's file as INDEX:FILE (the index does not end in .caibx)")
        }
        let seedIndex = try readIndex(indexPath)
        let file = try mapFile(blobPath)
        guard UInt64(file.count) == seedIndex.blobSize else {
            throw ValidationError("--seed \(argument): \(blobPath) has \(file.count) bytes, its index describes \(seedIndex.blobSize)")
        }
        return Seed(index: seedIndex, file: file)
    }
}

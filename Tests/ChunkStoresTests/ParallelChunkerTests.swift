// Parallel chunking gives exactly the sequential cuts, whatever the worker count and the data:
// random bytes, long zero runs (where workers cannot meet until the run ends), repeated blocks.
import Chunks
import ChunkStores
import ChunksTesting
import Testing

@Suite struct ParallelChunkerTests {
    static let inputs: [(String, [UInt8])] = {
        var zeros = randomBytes(3 << 20, seed: 1)
        zeros.replaceSubrange((1 << 20)..<(2 << 20), with: repeatElement(0, count: 1 << 20))
        let block = randomBytes(300_000, seed: 3)
        let repeated = Array([[UInt8]](repeating: block, count: 10).joined())
        return [("random", randomBytes(3 << 20, seed: 2)), ("zero run", zeros), ("repeated", repeated)]
    }()

    @Test(arguments: ["16:64:256", "1:4:16"])
    func sameCutsAsSequential(sizes: String) throws {
        let p = try ChunkerParameters(desyncKiB: sizes)
        for (name, data) in Self.inputs {
            data.withUnsafeBytes { bytes in
                let sequential = Chunker.cuts(bytes, parameters: p)
                for workers in [2, 3, 16] {
                    let parallel = ParallelChunker.cuts(bytes, parameters: p, workers: workers, spanSizeMin: 64 << 10)
                    #expect(sequential == parallel, "\(name), \(sizes), \(workers) workers")
                }
            }
        }
    }
}

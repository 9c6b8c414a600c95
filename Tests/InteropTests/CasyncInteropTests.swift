// Byte-for-byte interop with Debian's casync, the reference implementation. For each input:
// `kura make` writes the same index (hence the same chunk table) as `casync make`; `casync extract`
// rebuilds the input from kura's store and index; `kura extract` rebuilds it from casync's.
import Chunks
import ChunksTesting
import Foundation
import Testing

struct InteropCase: CustomTestStringConvertible, Sendable {
    let name: String
    /// casync's --chunk-size MIN:AVG:MAX in bytes.
    let sizes: (Int, Int, Int)
    let sha256: Bool
    let makeInput: @Sendable () -> [UInt8]

    init(_ name: String, sizes: (Int, Int, Int) = (16384, 65536, 262_144), sha256: Bool = false,
         _ makeInput: @escaping @Sendable () -> [UInt8]) {
        self.name = name
        self.sizes = sizes
        self.sha256 = sha256
        self.makeInput = makeInput
    }

    var testDescription: String { name }
}

@Suite(.serialized) struct CasyncInteropTests {
    static let cases: [InteropCase] = [
        InteropCase("random 3 MiB") { randomBytes(3 << 20, seed: 1) },
        InteropCase("mesh-like 4 MiB") { meshLikeBytes(4 << 20, seed: 2) },
        InteropCase("long zero runs") {
            randomBytes(1 << 20, seed: 3) + [UInt8](repeating: 0, count: 2 << 20) + randomBytes(700_001, seed: 4)
                + [UInt8](repeating: 0, count: 300_000)
        },
        InteropCase("first cut at exactly min") { minCutInput(parameters: .default, size: 600_000, seed: 5) },
        InteropCase("empty") { [] },
        InteropCase("one byte") { [42] },
        InteropCase("min - 1") { randomBytes(16383, seed: 6) },
        InteropCase("min") { randomBytes(16384, seed: 7) },
        InteropCase("min + 1") { randomBytes(16385, seed: 8) },
        InteropCase("max - 1 of zeros") { [UInt8](repeating: 0, count: 262_143) },
        InteropCase("max of zeros") { [UInt8](repeating: 0, count: 262_144) },
        InteropCase("max + 1 of zeros") { [UInt8](repeating: 0, count: 262_145) },
        InteropCase("max + 1 random") { randomBytes(262_145, seed: 9) },
        InteropCase("small chunks 4K:8K:32K", sizes: (4096, 8192, 32768)) { meshLikeBytes(2 << 20, seed: 10) },
        InteropCase("large chunks 64K:256K:1M", sizes: (65536, 262_144, 1 << 20)) { randomBytes(5 << 20, seed: 11) },
        InteropCase("min below the window 16:64:256 bytes", sizes: (16, 64, 256)) { randomBytes(100_000, seed: 12) },
        InteropCase("fixed size 8K", sizes: (8192, 8192, 8192)) { randomBytes(100_000, seed: 13) },
        InteropCase("uneven 3000:10000:50000", sizes: (3000, 10000, 50000)) { meshLikeBytes(1 << 20, seed: 14) },
        InteropCase("sha256 digest", sha256: true) { randomBytes(1 << 20, seed: 15) },
    ]

    @Test(arguments: cases)
    func sameIndexAndCrossExtract(_ c: InteropCase) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let input = c.makeInput()
        try dir.write("in.bin", input)
        let sizes = "\(c.sizes.0):\(c.sizes.1):\(c.sizes.2)"
        let digest = c.sha256 ? ["--digest", "sha256"] : []

        let kuraMake = try Tools.run(Tools.kura, ["make", "-s", "kura.castr", "--chunk-size", sizes] + digest + ["kura.caibx", "in.bin"], in: dir.path)
        try #require(kuraMake.status == 0, "kura make: \(kuraMake.stderr)")
        let casyncMake = try Tools.run(
            Tools.casync, ["make", "--store=casync.castr", "--chunk-size=\(sizes)"] + (c.sha256 ? ["--digest=sha256"] : []) + ["casync.caibx", "in.bin"],
            in: dir.path)
        try #require(casyncMake.status == 0, "casync make: \(casyncMake.stderr)")

        let ours = try ChunkIndex(decoding: dir.read("kura.caibx"))
        let theirs = try ChunkIndex(decoding: dir.read("casync.caibx"))
        #expect(ours.entries == theirs.entries, "chunk tables differ: \(ours.count) vs \(theirs.count) chunks")
        #expect(try dir.read("kura.caibx") == dir.read("casync.caibx"), "index bytes differ")
        #expect(ours.blobSize == UInt64(input.count))

        let casyncExtract = try Tools.run(Tools.casync, ["extract", "--store=kura.castr", "kura.caibx", "casync-out.bin"], in: dir.path)
        #expect(casyncExtract.status == 0, "casync extract from kura's store: \(casyncExtract.stderr)")
        #expect(try dir.read("casync-out.bin") == input)

        let kuraExtract = try Tools.run(Tools.kura, ["extract", "-s", "casync.castr", "casync.caibx", "kura-out.bin"], in: dir.path)
        #expect(kuraExtract.status == 0, "kura extract from casync's store: \(kuraExtract.stderr)")
        #expect(try dir.read("kura-out.bin") == input)
    }

    /// kura's uncompressed store (bare `<id>` files) is one casync reads too.
    @Test func casyncReadsAnUncompressedStore() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let input = meshLikeBytes(1 << 20, seed: 16)
        try dir.write("in.bin", input)
        let make = try Tools.run(Tools.kura, ["make", "--uncompressed", "-s", "raw.castr", "raw.caibx", "in.bin"], in: dir.path)
        try #require(make.status == 0, "\(make.stderr)")
        let extract = try Tools.run(Tools.casync, ["extract", "--store=raw.castr", "raw.caibx", "out.bin"], in: dir.path)
        #expect(extract.status == 0, "\(extract.stderr)")
        #expect(try dir.read("out.bin") == input)
    }
}

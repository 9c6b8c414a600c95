// Bad input through the real command line: each case exits non-zero with a message that names the
// problem, extract leaves nothing under the target name, and an existing target is never damaged.
import Chunks
import ChunksTesting
import Foundation
import Testing

@Suite struct BadInputTests {
    /// A store and index made by kura from 600 KB of random data, in a fresh directory.
    func fixture() throws -> (TemporaryDirectory, ChunkIndex) {
        let dir = try TemporaryDirectory()
        try dir.write("in.bin", randomBytes(600_000, seed: 21))
        let make = try Tools.run(Tools.kura, ["make", "-s", "store", "in.caibx", "in.bin"], in: dir.path)
        try #require(make.status == 0, "\(make.stderr)")
        return (dir, try ChunkIndex(decoding: dir.read("in.caibx")))
    }

    func chunkPath(_ index: ChunkIndex, _ i: Int) -> String {
        let hex = index.entries[i].id.hex
        return "store/\(hex.prefix(4))/\(hex).cacnk"
    }

    /// Runs `kura extract` onto a target that (if `existing`) holds other bytes; expects failure naming `problem`.
    func expectExtractFails(
        _ dir: TemporaryDirectory, index: String = "in.caibx", problem: String, existing: Bool,
        environment: [String: String] = [:]
    ) throws {
        let before = randomBytes(1000, seed: 99)
        if existing { try dir.write("out.bin", before) } else { try? FileManager.default.removeItem(atPath: dir.file("out.bin")) }
        let result = try Tools.run(Tools.kura, ["extract", "-s", "store", index, "out.bin"], in: dir.path, environment: environment)
        #expect(result.status != 0)
        #expect(result.stderr.contains(problem), "stderr: \(result.stderr)")
        if existing {
            #expect(try dir.read("out.bin") == before, "an existing target was changed")
        } else {
            #expect(!dir.exists("out.bin"), "a file was left under the target name")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".partial") }
        #expect(leftovers == [])
    }

    func corruptIndex(_ mutate: (inout [UInt8]) -> Void, problem: String) throws {
        let (dir, _) = try fixture()
        defer { dir.cleanup() }
        var bytes = try dir.read("in.caibx")
        mutate(&bytes)
        try dir.write("bad.caibx", bytes)
        for existing in [false, true] {
            try expectExtractFails(dir, index: "bad.caibx", problem: problem, existing: existing)
        }
    }

    @Test func truncatedIndex() throws {
        try corruptIndex({ $0.removeLast(13) }, problem: "index truncated")
    }

    @Test func randomIndex() throws {
        try corruptIndex({ $0 = randomBytes($0.count, seed: 5) }, problem: "not a casync index")
    }

    @Test func unknownFlagBits() throws {
        try corruptIndex({ $0[22] |= 0x40 }, problem: "unknown feature flag bits 0x40000000000000")
    }

    @Test func nonIncreasingOffsets() throws {
        try corruptIndex({ bytes in
            // Make item 2's end offset equal item 1's.
            let item1 = 64 + 40
            let item2 = 64 + 80
            bytes.replaceSubrange(item2..<(item2 + 8), with: bytes[item1..<(item1 + 8)])
        }, problem: "index item 2: offset")
    }

    @Test func chunkWhoseBytesDoNotMatchItsID() throws {
        let (dir, index) = try fixture()
        defer { dir.cleanup() }
        let victim = chunkPath(index, 1)
        try FileManager.default.removeItem(atPath: dir.file(victim))
        try FileManager.default.copyItem(atPath: dir.file(chunkPath(index, 0)), toPath: dir.file(victim))
        for existing in [false, true] {
            try expectExtractFails(dir, problem: "chunk \(index.entries[1].id) is invalid", existing: existing)
        }
        let verify = try Tools.run(Tools.kura, ["verify", "-s", "store"], in: dir.path)
        #expect(verify.status != 0)
        #expect(verify.stderr.contains("bad chunk \(index.entries[1].id)"))
        let repair = try Tools.run(Tools.kura, ["verify", "-s", "store", "--repair"], in: dir.path)
        #expect(repair.status == 0)
        #expect(!dir.exists(victim))
    }

    /// Without hashing lanes (KURA_HASH_LANES=0: the paths a CPU without AVX-512 takes), make writes
    /// the same index, extract rebuilds the file, and a chunk whose bytes do not match is still named.
    @Test func withoutHashingLanes() throws {
        let (dir, index) = try fixture()
        defer { dir.cleanup() }
        let off = ["KURA_HASH_LANES": "0"]
        let make = try Tools.run(Tools.kura, ["make", "-s", "store", "again.caibx", "in.bin"], in: dir.path, environment: off)
        #expect(make.status == 0, "\(make.stderr)")
        #expect(try dir.read("again.caibx") == dir.read("in.caibx"))
        let extract = try Tools.run(Tools.kura, ["extract", "-s", "store", "in.caibx", "out.bin"], in: dir.path, environment: off)
        #expect(extract.status == 0, "\(extract.stderr)")
        #expect(try dir.read("out.bin") == dir.read("in.bin"))
        // Bytes of the right size that hash to something else: caught by the hash, not by a size check.
        let victim = chunkPath(index, 2)
        try FileManager.default.removeItem(atPath: dir.file(victim))
        let impostor = randomBytes(index.size(of: 2), seed: 77).withUnsafeBytes { ChunkCodec().compress($0) }
        try dir.write(victim, impostor)
        for existing in [false, true] {
            try expectExtractFails(
                dir, problem: "chunk \(index.entries[2].id) is invalid: content hashes to", existing: existing, environment: off)
        }
    }

    @Test func garbageInsteadOfZstd() throws {
        let (dir, index) = try fixture()
        defer { dir.cleanup() }
        let victim = chunkPath(index, 2)
        try FileManager.default.removeItem(atPath: dir.file(victim))
        try dir.write(victim, randomBytes(5000, seed: 3))
        for existing in [false, true] {
            try expectExtractFails(dir, problem: "chunk \(index.entries[2].id) is invalid: not a zstd frame", existing: existing)
        }
    }

    @Test func missingChunk() throws {
        let (dir, index) = try fixture()
        defer { dir.cleanup() }
        try FileManager.default.removeItem(atPath: dir.file(chunkPath(index, 3)))
        for existing in [false, true] {
            try expectExtractFails(dir, problem: "chunk \(index.entries[3].id) is missing", existing: existing)
        }
        let info = try Tools.run(Tools.kura, ["info", "-s", "store", "--json", "in.caibx"], in: dir.path)
        #expect(info.status == 0)
        #expect(info.stdout.contains("\"missing\":1"))
        #expect(info.stdout.contains(index.entries[3].id.hex))
    }

    @Test func badChunkSizesAreRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("in.bin", [1, 2, 3])
        let result = try Tools.run(Tools.kura, ["make", "-m", "64:16:256", "x.caibx", "in.bin"], in: dir.path)
        #expect(result.status != 0)
        #expect(result.stderr.contains("min ≤ avg ≤ max"))
        #expect(!dir.exists("x.caibx"))
    }
}

// The remaining chunk-store commands through the real binary: prune keeps exactly what the given
// indexes reference and asks first; cache copies (and verifies) referenced chunks; cat writes any
// byte range; chop stores a file's chunks from its index; verify-index finds a changed byte.
import Chunks
import ChunksTesting
import Foundation
import Testing

@Suite struct CommandTests {
    func twoVersions() throws -> (TemporaryDirectory, [UInt8], [UInt8]) {
        let dir = try TemporaryDirectory()
        let v1 = meshLikeBytes(1 << 20, seed: 31)
        var v2 = v1
        v2.replaceSubrange(500_000..<504_096, with: randomBytes(4096, seed: 32))
        try dir.write("v1.bin", v1)
        try dir.write("v2.bin", v2)
        for v in ["v1", "v2"] {
            let make = try Tools.run(Tools.kura, ["make", "-s", "store", "\(v).caibx", "\(v).bin"], in: dir.path)
            try #require(make.status == 0, "\(make.stderr)")
        }
        return (dir, v1, v2)
    }

    func storedIDs(_ dir: TemporaryDirectory, _ store: String) throws -> Set<String> {
        let root = dir.file(store)
        var ids = Set<String>()
        for prefix in try FileManager.default.contentsOfDirectory(atPath: root) {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + prefix) where name.hasSuffix(".cacnk") {
                ids.insert(String(name.dropLast(6)))
            }
        }
        return ids
    }

    @Test func pruneKeepsExactlyTheReferencedChunks() throws {
        let (dir, v1, _) = try twoVersions()
        defer { dir.cleanup() }
        let v1IDs = Set(try ChunkIndex(decoding: dir.read("v1.caibx")).entries.map(\.id.hex))
        let v2IDs = Set(try ChunkIndex(decoding: dir.read("v2.caibx")).entries.map(\.id.hex))
        #expect(try storedIDs(dir, "store") == v1IDs.union(v2IDs))
        #expect(!v2IDs.subtracting(v1IDs).isEmpty)

        let refused = try Tools.run(Tools.kura, ["prune", "-s", "store", "v1.caibx"], in: dir.path, stdin: "n\n")
        #expect(refused.status != 0)
        #expect(try storedIDs(dir, "store") == v1IDs.union(v2IDs), "answering no removed chunks")

        let pruned = try Tools.run(Tools.kura, ["prune", "-s", "store", "v1.caibx"], in: dir.path, stdin: "y\n")
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(try storedIDs(dir, "store") == v1IDs)
        let extract = try Tools.run(Tools.kura, ["extract", "-s", "store", "v1.caibx", "out.bin"], in: dir.path)
        #expect(extract.status == 0)
        #expect(try dir.read("out.bin") == v1)
    }

    @Test func cacheCopiesAndCatReadsRanges() throws {
        let (dir, _, v2) = try twoVersions()
        defer { dir.cleanup() }
        let cache = try Tools.run(Tools.kura, ["cache", "-s", "store", "-c", "cache", "v2.caibx"], in: dir.path)
        #expect(cache.status == 0, "\(cache.stderr)")
        let v2IDs = Set(try ChunkIndex(decoding: dir.read("v2.caibx")).entries.map(\.id.hex))
        #expect(try storedIDs(dir, "cache") == v2IDs)
        for (offset, length) in [(0, 10), (499_990, 5000), (1_048_000, 1000), (123_456, 300_000)] {
            let cat = try Tools.run(Tools.kura, ["cat", "-s", "cache", "--offset", "\(offset)", "--length", "\(length)", "v2.caibx", "part.bin"], in: dir.path)
            #expect(cat.status == 0, "\(cat.stderr)")
            let end = min(v2.count, offset + length)
            #expect(try dir.read("part.bin") == Array(v2[offset..<end]))
        }
    }

    @Test func chopAndVerifyIndex() throws {
        let (dir, _, v2) = try twoVersions()
        defer { dir.cleanup() }
        let chop = try Tools.run(Tools.kura, ["chop", "-s", "chopped", "v2.caibx", "v2.bin"], in: dir.path)
        #expect(chop.status == 0, "\(chop.stderr)")
        let v2IDs = Set(try ChunkIndex(decoding: dir.read("v2.caibx")).entries.map(\.id.hex))
        #expect(try storedIDs(dir, "chopped") == v2IDs)

        #expect(try Tools.run(Tools.kura, ["verify-index", "v2.caibx", "v2.bin"], in: dir.path).status == 0)
        var changed = v2
        changed[700_000] ^= 0x40
        try dir.write("changed.bin", changed)
        let verify = try Tools.run(Tools.kura, ["verify-index", "v2.caibx", "changed.bin"], in: dir.path)
        #expect(verify.status != 0)
        #expect(verify.stderr.contains("1 of"))
        let wrongChop = try Tools.run(Tools.kura, ["chop", "-s", "chopped2", "v2.caibx", "changed.bin"], in: dir.path)
        #expect(wrongChop.status != 0)
    }

    /// verify re-hashes a whole store: chunks of either digest pass (a store may hold both, as
    /// casync's do), and each bad one is named with its reason — with and without hashing lanes.
    @Test(arguments: [[:], ["KURA_HASH_LANES": "0"]])
    func verifyAcceptsEitherDigestAndNamesEachBadChunk(environment: [String: String]) throws {
        let (dir, _, _) = try twoVersions()
        defer { dir.cleanup() }
        try dir.write("other.bin", randomBytes(300_000, seed: 33))
        let make = try Tools.run(Tools.kura, ["make", "-s", "store", "--digest", "sha256", "other.caibx", "other.bin"], in: dir.path)
        try #require(make.status == 0, "\(make.stderr)")
        let good = try Tools.run(Tools.kura, ["verify", "-s", "store"], in: dir.path, environment: environment)
        #expect(good.status == 0, "\(good.stderr)")
        let ids = try storedIDs(dir, "store").sorted()
        for (k, hex) in [ids[0], ids[ids.count / 2]].enumerated() {
            let path = dir.file("store/\(hex.prefix(4))/\(hex).cacnk")
            try FileManager.default.removeItem(atPath: path)
            try Data(randomBytes(1000 + k, seed: UInt64(40 + k)).withUnsafeBytes { ChunkCodec().compress($0) }).write(to: URL(fileURLWithPath: path))
        }
        let bad = try Tools.run(Tools.kura, ["verify", "-s", "store"], in: dir.path, environment: environment)
        #expect(bad.status != 0)
        for hex in [ids[0], ids[ids.count / 2]] {
            #expect(bad.stderr.contains("bad chunk \(hex)"), "\(bad.stderr)")
        }
        #expect(bad.stderr.contains("content hashes to"))
        #expect(bad.stderr.contains("\(ids.count) chunks checked, 2 bad"), "\(bad.stderr)")
    }
}

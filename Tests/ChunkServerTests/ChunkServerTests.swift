// The chunk server on a loopback port, through Foundation's HTTP client: chunks read as stored
// or transcoded, HEAD, 404 naming the chunk, read-only refusals, verified PUTs (a corrupt or
// oversized body stores nothing), and a store that other clients filled meanwhile.
import ChunkServer
import ChunkStores
import Chunks
import ChunksTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite struct ChunkServerTests {
    final class Harness: Sendable {  // immutable; its parts are Sendable
        let dir: TemporaryDirectory
        let store: FileSystemChunkStore
        let server: ChunkHTTPServer
        var base: String { "http://127.0.0.1:\(server.port)" }

        init(storeForm: ChunkForm = .compressed, _ configure: (inout ChunkServerOptions) -> Void = { _ in }) throws {
            dir = try TemporaryDirectory()
            store = try FileSystemChunkStore(root: dir.file("store"), form: storeForm)
            var options = ChunkServerOptions()
            options.maxBody = 1 << 20
            configure(&options)
            server = try ChunkHTTPServer(store: store, host: "127.0.0.1", port: 0, options: options, threads: 2)
        }

        deinit {
            server.stop()
            dir.cleanup()
        }

        func url(_ id: ChunkID, _ ext: String = ".cacnk") -> String { "\(base)/\(id.hex.prefix(4))/\(id.hex)\(ext)" }

        func request(_ method: String, _ url: String, body: [UInt8]? = nil) async throws -> (status: Int, body: [UInt8], length: String?) {
            var request = URLRequest(url: URL(string: url)!)
            request.httpMethod = method
            if let body { request.httpBody = Data(body) }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            return (http.statusCode, Array(data), http.value(forHTTPHeaderField: "Content-Length"))
        }
    }

    /// A chunk of `count` random bytes in both forms, with its ID.
    static func chunk(_ count: Int, seed: UInt64) -> (id: ChunkID, raw: [UInt8], compressed: StoredChunk) {
        let raw = randomBytes(count, seed: seed)
        let id = ChunkDigest.sha512_256.id(of: raw)
        return (id, raw, raw.withUnsafeBytes { ChunkCodec().encode($0, id: id, form: .compressed) })
    }

    @Test func getAndHeadServeTheStoredChunk() async throws {
        let h = try Harness()
        let c = Self.chunk(50_000, seed: 1)
        try h.store.store(c.compressed)
        let got = try await h.request("GET", h.url(c.id))
        #expect(got.status == 200)
        #expect(got.body == c.compressed.bytes, "the stored .cacnk, byte for byte")
        let head = try await h.request("HEAD", h.url(c.id))
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(head.length == "\(c.compressed.bytes.count)")
    }

    @Test func missingChunksAndBadPathsAreNamed() async throws {
        let h = try Harness()
        let c = Self.chunk(1000, seed: 2)
        let missing = try await h.request("GET", h.url(c.id))
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains(c.id.hex))
        #expect(try await h.request("HEAD", h.url(c.id)).status == 404)
        let bad = try await h.request("GET", "\(h.base)/abcd/not-a-chunk.cacnk")
        #expect(bad.status == 400 && String(decoding: bad.body, as: UTF8.self).contains("not-a-chunk"))
        #expect(try await h.request("PUT", h.url(c.id), body: c.compressed.bytes).status == 403)
        #expect(!(try h.store.contains(c.id)), "a read-only server stores nothing")
    }

    @Test func anUncompressedServerDecompressesAndACompressedOneCompresses() async throws {
        let raw = try Harness { $0.form = .uncompressed }
        let c = Self.chunk(30_000, seed: 3)
        try raw.store.store(c.compressed)
        let plain = try await raw.request("GET", raw.url(c.id, ""))
        #expect(plain.status == 200 && plain.body == c.raw)
        #expect(try await raw.request("GET", raw.url(c.id)).status == 400, "no .cacnk on an uncompressed server")

        let packed = try Harness(storeForm: .uncompressed)
        let d = Self.chunk(30_000, seed: 4)
        try packed.store.store(StoredChunk(id: d.id, form: .uncompressed, bytes: d.raw))
        let got = try await packed.request("GET", packed.url(d.id))
        #expect(got.status == 200)
        #expect(try ChunkCodec().decode(StoredChunk(id: d.id, form: .compressed, bytes: got.body), digest: .sha512_256) == d.raw)
    }

    @Test(arguments: [ChunkForm.compressed, .uncompressed])
    func putsAreVerifiedBeforeTheyAreStored(storeForm: ChunkForm) async throws {
        let h = try Harness(storeForm: storeForm) { $0.writable = true }
        let c = Self.chunk(40_000, seed: 5)
        #expect(try await h.request("PUT", h.url(c.id), body: c.compressed.bytes).status == 200)
        #expect(try ChunkCodec().decode(h.store.chunk(c.id), digest: .sha512_256) == c.raw)
        #expect(try await h.request("PUT", h.url(c.id), body: c.compressed.bytes).status == 200, "a second PUT changes nothing")

        // Another chunk's bytes under this ID, and bytes that are not zstd: refused, nothing stored.
        let other = Self.chunk(40_000, seed: 6)
        let target = Self.chunk(40_000, seed: 7)
        let wrong = try await h.request("PUT", h.url(target.id), body: other.compressed.bytes)
        #expect(wrong.status == 400 && String(decoding: wrong.body, as: UTF8.self).contains("hashes to"), "\(String(decoding: wrong.body, as: UTF8.self))")
        let garbage = try await h.request("PUT", h.url(target.id), body: Array(repeating: 7, count: 100))
        #expect(garbage.status == 400 && String(decoding: garbage.body, as: UTF8.self).contains("zstd"))
        let huge = try await h.request("PUT", h.url(target.id), body: Array(repeating: 0, count: (1 << 20) + 1))
        #expect(huge.status == 413)
        #expect(!(try h.store.contains(target.id)))
        // The server still serves after the refusals.
        #expect(try await h.request("GET", h.url(c.id)).body == c.compressed.bytes)
    }

    @Test func manyClientsAtOnce() async throws {
        let h = try Harness { $0.writable = true }
        let chunks = (0..<64).map { Self.chunk(10_000 + $0 * 100, seed: 100 + UInt64($0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in chunks {
                group.addTask {
                    let put = try await h.request("PUT", h.url(c.id), body: c.compressed.bytes)
                    #expect(put.status == 200)
                    let got = try await h.request("GET", h.url(c.id))
                    #expect(got.status == 200 && got.body == c.compressed.bytes)
                }
            }
            try await group.waitForAll()
        }
        #expect(try Set(h.store.allChunkIDs()) == Set(chunks.map(\.id)))
    }
}

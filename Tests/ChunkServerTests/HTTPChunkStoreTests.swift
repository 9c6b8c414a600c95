// The HTTP client store against the chunk server on a loopback port: the store contract (what
// is put is read back, absent is `missing`), refusals named with their URL and status, a server
// that is not there is `unavailable` after the retries, and a whole extract over HTTP.
@testable import ChunkServer
import ChunkStores
import Chunks
import ChunksTesting
import Foundation
import Testing

@Suite struct HTTPChunkStoreTests {
    @Test(arguments: [ChunkForm.compressed, .uncompressed])
    func whatIsPutIsReadBack(form: ChunkForm) throws {
        let h = try ChunkServerTests.Harness { $0.writable = true; $0.form = form }
        let remote = try HTTPChunkStore(url: h.base + "/", form: form)
        let chunks = (0..<20).map { ChunkServerTests.chunk(5000 + $0 * 37, seed: 200 + UInt64($0)) }
        for c in chunks {
            #expect(try !remote.contains(c.id))
            #expect(throws: ChunkStoreError.missing(c.id)) { try remote.chunk(c.id) }
            let stored = form == .compressed ? c.compressed : StoredChunk(id: c.id, form: .uncompressed, bytes: c.raw)
            try remote.store(stored)
            #expect(try remote.contains(c.id))
            #expect(try ChunkCodec().decode(remote.chunk(c.id), digest: .sha512_256) == c.raw)
        }
        // The server's store holds them in its own form (compressed), whatever they travelled in.
        #expect(try Set(h.store.allChunkIDs()) == Set(chunks.map(\.id)))
        for c in chunks { #expect(try h.store.chunk(c.id).form == .compressed) }
    }

    @Test func refusalsNameTheURLAndTheStatus() throws {
        let h = try ChunkServerTests.Harness()  // read-only
        let remote = try HTTPChunkStore(url: h.base, form: .compressed)
        let c = ChunkServerTests.chunk(3000, seed: 300)
        do {
            try remote.store(c.compressed)
            Issue.record("a read-only server took a chunk")
        } catch {
            let url = "\(h.base)/\(c.id.hex.prefix(4))/\(c.id.hex).cacnk"
            #expect("\(error)".contains("\(url) answered 403") && "\(error)".contains("read-only"), "\(error)")
        }
        #expect(throws: ChunkStoreError.self) { try HTTPChunkStore(url: "https://example.invalid/") }
        #expect(throws: ChunkStoreError.self) { try HTTPChunkStore(url: "http://:80/") }
    }

    @Test func aServerThatIsNotThereIsUnavailable() throws {
        let port: Int
        do {
            let h = try ChunkServerTests.Harness()
            port = h.server.port
        }  // stopped: nothing listens there now
        let remote = try HTTPChunkStore(url: "http://127.0.0.1:\(port)/", attempts: 2)
        let c = ChunkServerTests.chunk(1000, seed: 301)
        do {
            _ = try remote.chunk(c.id)
            Issue.record("a chunk from a server that is not there")
        } catch .unavailable(let id, let reason) {
            #expect(id == c.id)
            #expect(reason.contains("127.0.0.1:\(port)") && reason.contains("2 attempts"), "\(reason)")
        } catch {
            Issue.record("expected unavailable, got \(error)")
        }
    }

    @Test func anExtractOverHTTPRebuildsTheBlob() throws {
        let h = try ChunkServerTests.Harness()
        let input = meshLikeBytes(2 << 20, seed: 302)
        let (index, _) = try input.withUnsafeBytes {
            try IndexMaker.make($0, parameters: .default, digest: .sha512_256, store: h.store, workers: 2)
        }
        let target = h.dir.file("out.bin")
        let remote = try HTTPChunkStore(url: h.base + "/", form: .compressed)
        _ = try Extractor.extract(index: index, store: remote, seeds: [], target: target, workers: 4)
        #expect(try h.dir.read("out.bin") == input)
    }

    @Test func storeURLs() throws {
        #expect(try HTTPChunkStore.parse("http://h:81/p/q") == ("h", 81, "h:81", "/p/q/"))
        #expect(try HTTPChunkStore.parse("http://h") == ("h", 80, "h", "/"))
        #expect(try HTTPChunkStore.parse("http://[::1]:9876/store/?token=1#x") == ("::1", 9876, "[::1]:9876", "/store/"))
        #expect(try HTTPChunkStore.parse("http://[::1]/") == ("::1", 80, "[::1]", "/"))
        for bad in ["https://h/", "http://:80/", "http://h:0/", "http://h:x/", "http://[::1/", "ftp://h/"] {
            #expect(throws: ChunkStoreError.self, "\(bad)") { try HTTPChunkStore.parse(bad) }
        }
    }
}

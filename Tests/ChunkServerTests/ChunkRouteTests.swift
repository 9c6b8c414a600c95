// desync's chunk paths, parsed without a socket: what is served, and every malformed request
// refused with the status and a message that names what was wrong.
import ChunkServer
import Chunks
import Testing

@Suite struct ChunkRouteTests {
    let id = ChunkID(hex: String(repeating: "ab12", count: 16))!

    func parse(_ method: String, _ uri: String, form: ChunkForm = .compressed, writable: Bool = false) -> Result<ChunkRequest, ChunkRefusal> {
        ChunkRoute.parse(method: method, uri: uri, form: form, writable: writable)
    }

    @Test func chunkPathsAreServed() {
        let path = "/ab12/\(id.hex).cacnk"
        #expect(parse("GET", path) == .success(.get(id)))
        #expect(parse("HEAD", path) == .success(.head(id)))
        #expect(parse("PUT", path, writable: true) == .success(.put(id)))
        #expect(parse("GET", path + "?x=1") == .success(.get(id)), "a query is no part of the name")
        #expect(parse("GET", "/AB12/\(id.hex.uppercased()).cacnk") == .success(.get(id)), "hex in either case")
        #expect(parse("GET", "/ab12/\(id.hex)", form: .uncompressed) == .success(.get(id)), "uncompressed: no extension")
    }

    @Test(arguments: [
        ("/ab12/\(String(repeating: "ab12", count: 16))", "invalid chunk name"),  // no .cacnk on a compressed server
        ("/ab12/\(String(repeating: "ab12", count: 16)).cacnk.tmp", "invalid chunk name"),
        ("/ab12/\(String(repeating: "zz12", count: 16)).cacnk", "invalid chunk ID"),
        ("/cd34/\(String(repeating: "ab12", count: 16)).cacnk", "belongs under /ab12/"),
        ("/store/ab12/\(String(repeating: "ab12", count: 16)).cacnk", "not a chunk path"),
        ("/", "not a chunk path"),
        ("ab12/\(String(repeating: "ab12", count: 16)).cacnk", "not a chunk path"),
    ])
    func badPathsAre400(uri: String, says: String) {
        guard case .failure(let refusal) = parse("GET", uri) else {
            Issue.record("\(uri) was accepted")
            return
        }
        #expect(refusal.status == 400)
        #expect(refusal.message.contains(says), "\(refusal.message)")
    }

    @Test func writesAndOtherMethodsAreRefused() {
        let path = "/ab12/\(id.hex).cacnk"
        #expect(parse("PUT", path) == .failure(ChunkRefusal(403, "this chunk server is read-only (start it with -w to accept PUT)")))
        guard case .failure(let refusal) = parse("DELETE", path, writable: true) else {
            Issue.record("DELETE accepted")
            return
        }
        #expect(refusal.status == 405 && refusal.message.contains("DELETE"))
    }
}

// casync reads a store that `kura chunk-server` serves over HTTP: casync's own HTTP helper
// (Debian's casync-http, libcurl) fetches every chunk from /<4 hex>/<id>.cacnk and rebuilds the
// input byte for byte. The server then stops cleanly on SIGTERM.
import ChunksTesting
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

@Suite struct HTTPStoreInteropTests {
    @Test(.timeLimit(.minutes(2)))
    func casyncExtractsOverHTTPFromKurasChunkServer() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let input = meshLikeBytes(3 << 20, seed: 21)
        try dir.write("in.bin", input)
        let make = try Tools.run(Tools.kura, ["make", "-s", "store", "model.caibx", "in.bin"], in: dir.path)
        try #require(make.status == 0, "\(make.stderr)")

        let (server, port) = try startChunkServer(["-s", dir.file("store")])
        defer { end(server) }

        let extract = try Tools.run(Tools.casync, ["extract", "--store=http://127.0.0.1:\(port)/", "model.caibx", "out.bin"], in: dir.path)
        #expect(extract.status == 0, "casync extract over HTTP: \(extract.stderr)")
        #expect(try dir.read("out.bin") == input)

        // A store without the chunks: casync fails, it does not write a wrong file.
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        let (empty, emptyPort) = try startChunkServer(["-s", dir.file("empty")])
        defer { end(empty) }
        let failed = try Tools.run(Tools.casync, ["extract", "--store=http://127.0.0.1:\(emptyPort)/", "model.caibx", "none.bin"], in: dir.path)
        #expect(failed.status != 0)

        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationReason == .exit && server.terminationStatus == 0, "chunk-server stops cleanly on SIGTERM")
    }

    /// `kura make` PUTs its chunks to a writable `kura chunk-server`, `kura extract` reads them
    /// back over HTTP, and casync reads the directory the server filled.
    @Test(.timeLimit(.minutes(2)))
    func kuraMakesAndExtractsThroughItsChunkServer() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let input = meshLikeBytes(3 << 20, seed: 22)
        try dir.write("in.bin", input)
        let (server, port) = try startChunkServer(["-w", "-s", dir.file("served")])
        defer { end(server) }
        let url = "http://127.0.0.1:\(port)/"

        let make = try Tools.run(Tools.kura, ["make", "-s", url, "model.caibx", "in.bin"], in: dir.path)
        try #require(make.status == 0, "kura make to an HTTP store: \(make.stderr)")
        let again = try Tools.run(Tools.kura, ["make", "-s", url, "model2.caibx", "in.bin"], in: dir.path)
        #expect(again.status == 0 && again.stderr.contains(" 0 new"), "a second make finds every chunk there: \(again.stderr)")
        let extract = try Tools.run(Tools.kura, ["extract", "-s", url, "model.caibx", "kura-out.bin"], in: dir.path)
        #expect(extract.status == 0, "kura extract over HTTP: \(extract.stderr)")
        #expect(try dir.read("kura-out.bin") == input)
        let casync = try Tools.run(Tools.casync, ["extract", "--store=served", "model.caibx", "casync-out.bin"], in: dir.path)
        #expect(casync.status == 0, "casync extract from the directory the server filled: \(casync.stderr)")
        #expect(try dir.read("casync-out.bin") == input)

        // A store URL where nothing listens: an error naming it, not a hang.
        let nowhere = try freeLoopbackPort()
        let failed = try Tools.run(Tools.kura, ["extract", "-s", "http://127.0.0.1:\(nowhere)/", "model.caibx", "none.bin"], in: dir.path)
        #expect(failed.status != 0 && failed.stderr.contains("127.0.0.1:\(nowhere)"), "\(failed.stderr)")
    }

    /// `kura chunk-server` with `arguments` on a free loopback port, once it listens.
    func startChunkServer(_ arguments: [String]) throws -> (Process, Int) {
        let port = try freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Tools.kura)
        server.arguments = ["chunk-server"] + arguments + ["-l", "127.0.0.1:\(port)"]
        server.standardError = FileHandle.nullDevice
        try server.run()
        do {
            try waitUntilListening(port)
        } catch {
            end(server)
            throw error
        }
        return (server, port)
    }

    /// Kills `server` if it still runs, and reaps it.
    func end(_ server: Process) {
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        server.waitUntilExit()
    }

    /// A port on 127.0.0.1 that nothing listens on now.
    func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "no free port: errno \(errno)"]) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Connects until the server accepts (at most 20 s).
    func waitUntilListening(_ port: Int) throws {
        for _ in 0..<400 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if connected { return }
            usleep(50_000)
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "chunk-server never listened on \(port)"])
    }
}

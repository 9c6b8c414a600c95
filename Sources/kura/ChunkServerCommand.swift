// `kura chunk-server`: desync's `chunk-server` — a store directory over HTTP, in desync's chunk
// protocol, which casync's HTTP helper and desync read and desync writes (with -w).
import ArgumentParser
import ChunkServer
import ChunkStores
import Chunks
#if canImport(Glibc)
import Glibc
#endif

struct ChunkServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chunk-server",
        abstract: "Serve a chunk store over HTTP (desync's protocol: GET, HEAD, PUT /<4 hex>/<id>.cacnk).")

    @Option(name: .short, help: "Chunk store directory.")
    var s: String

    @Option(name: .short, help: "Address to listen on, HOST:PORT (port 0: any free port, printed).")
    var l: String = "127.0.0.1:9876"

    @Flag(name: .short, help: "Accept PUT (each chunk is verified before it is stored).")
    var w = false

    @Flag(name: .short, help: "Serve uncompressed chunks (<id>, no extension) instead of <id>.cacnk.")
    var u = false

    @Option(help: "Chunk digest for verifying PUT: sha512-256 (casync's default) or sha256.")
    var digest: String = ChunkDigest.sha512_256.rawValue

    @OptionGroup var concurrency: ConcurrencyOption

    func run() throws {
        guard let digest = ChunkDigest(rawValue: digest) else {
            throw ValidationError("--digest must be sha512-256 or sha256, got '\(self.digest)'")
        }
        guard let colon = l.lastIndex(of: ":"), let port = Int(l[l.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("-l must be HOST:PORT, got '\(l)'")
        }
        var host = String(l[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }  // [IPv6]:PORT
        let store = try openStore(s, create: w)
        var options = ChunkServerOptions()
        options.form = u ? .uncompressed : .compressed
        options.writable = w
        options.digest = digest
        options.log = { line in writeError(line + "\n") }
        let server: ChunkHTTPServer
        do {
            server = try ChunkHTTPServer(store: store, host: host, port: port, options: options, threads: try concurrency.workers)
        } catch {
            throw ValidationError("cannot listen on \(l): \(error)")
        }
        writeError("kura chunk-server: serving \(s) on http://\(host):\(server.port)/\(w ? " (writable)" : "")\n")
        waitForTermination()
        server.stop()
        try? store.flush()
        writeError("kura chunk-server: stopped\n")
    }
}

// `--tls-cert/--tls-key/--tls-ca`, shared by `kura serve` and the client commands: all three or
// none (a half-configured TLS would silently fall back to plain TCP).
import ArgumentParser
import RaftServer

struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: "PEM certificate (chain) this process presents (mutual TLS).")
    var certificate: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var privateKey: String?
    @Option(name: .customLong("tls-ca"), help: "PEM CA certificate that signs every replica's and client's certificate.")
    var trustRoots: String?

    func validate() throws {
        let given = [certificate, privateKey, trustRoots].filter { $0 != nil }.count
        guard given == 0 || given == 3 else {
            throw ValidationError("TLS needs all of --tls-cert, --tls-key and --tls-ca (or none of them)")
        }
    }

    /// nil when TLS is off.
    var files: TLSFiles? {
        guard let certificate, let privateKey, let trustRoots else { return nil }
        return TLSFiles(certificate: certificate, privateKey: privateKey, trustRoots: trustRoots)
    }

    func contexts() throws -> TLSContexts? {
        try files.map(TLSContexts.init)
    }
}

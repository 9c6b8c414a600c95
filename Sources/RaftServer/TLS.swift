// Mutual TLS on a replica's port, as etcd's peer and client TLS: every replica and every client
// presents a certificate signed by the cluster's CA and checks the other side's against it. Names
// are not checked (replicas are often addressed by IP); what admits a peer is the CA's signature,
// so a cluster should have a CA of its own. TLS 1.3 only: both ends are ours.
import NIOCore
import NIOSSL

/// PEM files: this end's certificate (chain), its private key, and the CA that signs the cluster's.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var privateKey: String
    public var trustRoots: String

    public init(certificate: String, privateKey: String, trustRoots: String) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.trustRoots = trustRoots
    }
}

public enum TLSSetupError: Error, CustomStringConvertible {
    case unreadable(role: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let role, let path, let reason): return "TLS \(role) \(path): \(reason)"
        }
    }
}

/// The two contexts one process needs: accepting connections, and making them (to peers, or as a client).
public struct TLSContexts: Sendable {
    let server: NIOSSLContext
    let client: NIOSSLContext

    /// Loads and checks the files now, so a wrong path fails at start with its name, not at the
    /// first connection.
    public init(_ files: TLSFiles) throws {
        let chain = try Self.load("certificate", files.certificate) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !chain.isEmpty else {
            throw TLSSetupError.unreadable(role: "certificate", path: files.certificate, reason: "no certificate in the file")
        }
        let key = try Self.load("private key", files.privateKey) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        let roots = try Self.load("CA", files.trustRoots) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !roots.isEmpty else {
            throw TLSSetupError.unreadable(role: "CA", path: files.trustRoots, reason: "no certificate in the file")
        }
        var serverConfig = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key), trustRoots: .certificates(roots))
        serverConfig.minimumTLSVersion = .tlsv13
        var clientConfig = TLSConfiguration.makeClientConfiguration()
        clientConfig.minimumTLSVersion = .tlsv13
        clientConfig.certificateChain = chain.map { .certificate($0) }
        clientConfig.privateKey = .privateKey(key)
        clientConfig.trustRoots = .certificates(roots)
        clientConfig.certificateVerification = .noHostnameVerification
        do {
            server = try NIOSSLContext(configuration: serverConfig)
            client = try NIOSSLContext(configuration: clientConfig)
        } catch {
            throw TLSSetupError.unreadable(role: "certificate and key", path: files.certificate, reason: "\(error)")
        }
    }

    static func load<T>(_ role: String, _ path: String, _ body: (String) throws -> T) throws -> T {
        do { return try body(path) } catch {
            throw TLSSetupError.unreadable(role: role, path: path, reason: "\(error)")
        }
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// The first handler of an accepted connection, when TLS is on.
    func addTLSServer(_ tls: TLSContexts?) throws {
        guard let tls else { return }
        try addHandler(NIOSSLServerHandler(context: tls.server))
    }

    /// The first handler of a connection this process makes, when TLS is on.
    func addTLSClient(_ tls: TLSContexts?) throws {
        guard let tls else { return }
        try addHandler(NIOSSLClientHandler(context: tls.client, serverHostname: nil))
    }
}

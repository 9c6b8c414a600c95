// Mutual TLS: three in-process replicas whose peer links and client connections all run over TLS
// 1.3 with certificates made by the real `openssl` tool. A client with the cluster's CA commits
// and reads; a plain-TCP client and a client whose certificate another CA signed are refused.
import Foundation
import NIOPosix
import Raft
import RaftServer
import Testing

@Suite("Mutual TLS")
struct TLSTests {
    @Test("replicas and clients over mutual TLS; plain and foreign clients refused", .timeLimit(.minutes(1)))
    func clusterOverTLS() async throws {
        let root = NSTemporaryDirectory() + "kura-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try PKI(directory: root, name: "cluster")
        let foreign = try PKI(directory: root, name: "foreign")

        var peers: [ReplicaID: HostPort] = [:]
        for id in 1...3 { peers[ReplicaID(UInt64(id))] = HostPort(host: "127.0.0.1", port: try HostPort.freeLoopbackPort()) }
        var servers: [KuraServer] = []
        defer { servers.forEach { $0.stop() } }
        for id in peers.keys.sorted() {
            var options = ServerOptions(id: id, peers: peers, dataDirectory: "\(root)/r\(id)")
            options.tickMilliseconds = 10
            options.tls = cluster.files
            servers.append(try KuraServer(options: options) { error in Issue.record("fatal: \(error)") })
        }

        let group = MultiThreadedEventLoopGroup.singleton
        let client = KuraClient(servers: peers, group: group, timeout: .seconds(5), tls: try TLSContexts(cluster.files))
        var response = Response.failed("")
        for _ in 0..<200 {
            // No leader yet: under the sanitizer on a loaded host, the first election can outlast
            // the client's retries, so "unreachable" is waited out here too.
            do {
                response = try await client.call(.put(key: "k", value: "over TLS"))
            } catch ClientError.unreachable(let why) {
                response = .failed(why)
            }
            if case .ok = response { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(response == .ok([]))
        #expect(try await client.call(.get(key: "k")).value() == "over TLS")
        await client.close()

        // Committed means a majority over TLS peer links; every replica gets it in the end.
        for (id, address) in peers {
            var local: String?
            for _ in 0..<200 {
                let connection = try await ReplicaConnection.connect(to: address, group: group, tls: try TLSContexts(cluster.files))
                local = try await connection.call(.getLocal(key: "k"), timeout: .seconds(5)).value()
                await connection.close()
                if local == "over TLS" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(local == "over TLS", "replica \(id)")
        }

        let address = peers[1]!
        #expect(await refused(address, tls: nil), "a plain-TCP client must not be served")
        // Trusts the cluster's CA (so it accepts the replica) but shows a certificate another CA signed.
        var intruder = foreign.files
        intruder.trustRoots = cluster.files.trustRoots
        #expect(await refused(address, tls: try TLSContexts(intruder)), "a client certificate of another CA must be refused")
        #expect(await refused(address, tls: try TLSContexts(foreign.files)), "a client must refuse a replica of another CA")
    }

    @Test("a missing or wrong TLS file is an error naming it")
    func badFilesNamed() throws {
        let root = NSTemporaryDirectory() + "kura-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pki = try PKI(directory: root, name: "c")
        var missing = pki.files
        missing.privateKey = root + "/no-such.key"
        #expect { try TLSContexts(missing) } throws: { "\($0)".contains("private key") && "\($0)".contains("no-such.key") }
        var notPEM = pki.files
        notPEM.trustRoots = root + "/garbage.pem"
        FileManager.default.createFile(atPath: notPEM.trustRoots, contents: Data("not a certificate".utf8))
        #expect { try TLSContexts(notPEM) } throws: { "\($0)".contains("CA") && "\($0)".contains("garbage.pem") }
    }

    /// True if the replica at `address` answers nothing to this client.
    func refused(_ address: HostPort, tls: TLSContexts?) async -> Bool {
        do {
            let connection = try await ReplicaConnection.connect(to: address, group: MultiThreadedEventLoopGroup.singleton, tls: tls)
            let answer = await outcome { try await connection.call(.status, timeout: .seconds(3)) }
            await connection.close()
            _ = try answer.get()
            return false
        } catch {
            return true
        }
    }
}

/// A CA and one certificate it signs (for 127.0.0.1, server and client use), made by `openssl`.
struct PKI {
    let files: TLSFiles

    init(directory: String, name: String) throws {
        let base = "\(directory)/\(name)"
        try "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n"
            .write(toFile: "\(base).ext", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", "\(base)-ca.key", "-out", "\(base)-ca.pem", "-days", "2", "-subj", "/CN=\(name) CA"])
        try Self.openssl(["req"] + ec + ["-keyout", "\(base).key", "-out", "\(base).csr", "-subj", "/CN=\(name) replica"])
        try Self.openssl(["x509", "-req", "-in", "\(base).csr", "-CA", "\(base)-ca.pem", "-CAkey", "\(base)-ca.key",
                          "-CAcreateserial", "-out", "\(base).pem", "-days", "2", "-extfile", "\(base).ext"])
        files = TLSFiles(certificate: "\(base).pem", privateKey: "\(base).key", trustRoots: "\(base)-ca.pem")
    }

    static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.joined(separator: " ")) failed"])
        }
    }
}

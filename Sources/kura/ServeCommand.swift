// `kura serve`: run one replica of a consensus group (the KV machine plus the group's address
// book), and `kura kv` to write and read through it.
import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Raft
import RaftServer

/// `1=127.0.0.1:7001,2=127.0.0.1:7002` → ids and addresses, with a message naming a bad entry.
/// Parsed once, by ArgumentParser (`@Option(transform: PeerList.parse)`), so its errors name the flag.
struct PeerList {
    var addresses: [ReplicaID: HostPort] = [:]
    var ids: [ReplicaID] { addresses.keys.sorted() }

    static func parse(_ text: String) throws -> PeerList {
        var list = PeerList()
        guard !text.isEmpty else { throw ValidationError("no replica listed (give ID=HOST:PORT,…)") }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = UInt64(parts[0]), id > 0 else {
                throw ValidationError("peer '\(item)' is not ID=HOST:PORT (ID a positive integer)")
            }
            guard list.addresses[ReplicaID(id)] == nil else { throw ValidationError("replica \(id) is listed twice") }
            do {
                list.addresses[ReplicaID(id)] = try HostPort(parsing: String(parts[1]))
            } catch {
                throw ValidationError("peer '\(item)': \(error)")
            }
        }
        return list
    }

    static func parseHostPort(_ text: String) throws -> HostPort {
        do { return try HostPort(parsing: text) } catch { throw ValidationError("'\(text)': \(error)") }
    }
}

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one replica of a Raft group with a replicated key-value state machine.",
        discussion: """
            Founding replicas are started with the same --peers (every founding member, this one \
            included); a replica added later starts with --join and is then added with `kura cluster add`. \
            Writes are acknowledged only once a majority has them on disk (fdatasync).
            """)

    @Option(help: "This replica's id (a positive integer).")
    var id: UInt64
    @Option(help: "ID=HOST:PORT,… : how this replica reaches each peer (founders: all founding members).",
            transform: PeerList.parse)
    var peers: PeerList
    @Option(help: "HOST:PORT to listen on (default: this replica's entry in --peers).", transform: PeerList.parseHostPort)
    var listen: HostPort?
    @Option(help: "Directory for the write-ahead log and snapshots.")
    var data: String
    @Flag(help: "Start with no configuration and wait to be added to an existing group.")
    var join = false
    @Option(help: "Milliseconds per Raft tick (heartbeat: 1 tick, election timeout: 10–20 ticks).")
    var tickMs = 50
    @Option(help: "Take a snapshot and compact the log every this many applied entries.")
    var snapshotEvery = 10_000
    @OptionGroup var tls: TLSOptions
    @Option(help: "Milliseconds a write may wait for its commit before it is answered `unknown`.")
    var requestTimeoutMs = 5_000

    func validate() throws {
        guard id > 0 else { throw ValidationError("--id must be a positive integer, not 0") }
        guard tickMs > 0 else { throw ValidationError("--tick-ms must be positive, not \(tickMs)") }
        guard snapshotEvery > 0 else { throw ValidationError("--snapshot-every must be positive, not \(snapshotEvery)") }
        guard requestTimeoutMs > 0 else { throw ValidationError("--request-timeout-ms must be positive, not \(requestTimeoutMs)") }
        if peers.addresses.isEmpty { throw ValidationError("--peers lists no replica") }
        let listed = peers.addresses[ReplicaID(id)] != nil
        if !join && !listed {
            throw ValidationError("--id \(id) is not among --peers \(peers.ids); a founding replica must be (or use --join)")
        }
        if join && !listed && listen == nil {
            throw ValidationError("--id \(id) is not among --peers: give --listen HOST:PORT")
        }
    }

    func run() throws {
        var options = ServerOptions(id: ReplicaID(id), peers: peers.addresses, dataDirectory: data)
        options.listen = listen
        options.join = join
        options.tickMilliseconds = tickMs
        options.snapshotEvery = snapshotEvery
        options.tls = tls.files
        options.requestTimeoutMilliseconds = requestTimeoutMs
        let replica = id
        let server = try KuraServer(options: options) { error in
            // Nothing more may be acknowledged: leave at once, the disk holds what was.
            writeError("kura serve: replica \(replica) stops: \(error)\n")
            _exit(70)
        }
        writeError("kura serve: replica \(id) listening on \(server.localAddress)\(tls.files == nil ? "" : " (mutual TLS)")\n")
        waitForTermination()
        server.stop()
        writeError("kura serve: replica \(id) stopped\n")
    }
}

/// Blocks until SIGTERM or SIGINT arrives (both are taken from their default action first).
func waitForTermination() {
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    let done = DispatchSemaphore(value: 0)
    let sources = [SIGTERM, SIGINT].map { number in
        let source = DispatchSource.makeSignalSource(signal: number)
        source.setEventHandler { done.signal() }
        source.resume()
        return source
    }
    done.wait()
    sources.forEach { $0.cancel() }
}

func writeError(_ text: String) {
    _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
}

struct KVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv", abstract: "Write and read keys of a `kura serve` group.",
        subcommands: [KVPut.self, KVGet.self])
}

struct ClientOptions: ParsableArguments {
    @Option(help: "ID=HOST:PORT,… : replicas of the group (any reachable one will do).", transform: PeerList.parse)
    var peers: PeerList
    @Option(help: "Milliseconds to wait for each answer.")
    var requestTimeoutMs = 10_000
    @OptionGroup var tls: TLSOptions

    func validate() throws {
        if peers.addresses.isEmpty { throw ValidationError("--peers lists no replica") }
        guard requestTimeoutMs > 0 else { throw ValidationError("--request-timeout-ms must be positive, not \(requestTimeoutMs)") }
    }

    func withClient<T: Sendable>(_ work: @escaping @Sendable (KuraClient) async throws -> T) throws -> T {
        let servers = peers.addresses
        let timeout = Duration.milliseconds(requestTimeoutMs)
        let tls = try tls.contexts()
        return try blocking {
            let client = KuraClient(servers: servers, timeout: timeout, tls: tls)
            do {
                let result = try await work(client)
                await client.close()
                return result
            } catch {
                await client.close()
                throw error
            }
        }
    }
}

struct KVPut: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Set KEY to VALUE (prints the previous value).")
    @OptionGroup var client: ClientOptions
    @Argument var key: String
    @Argument var value: String

    func run() throws {
        let (key, value) = (key, value)
        let response = try client.withClient { try await $0.call(.put(key: key, value: value, returnPrevious: true)) }
        guard case .ok(let previous) = response else { throw ValidationError("put \(key): \(response)") }
        print(String(decoding: previous, as: UTF8.self))
    }
}

struct KVGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Read KEY (linearizable, through the leader; --local ID reads one replica's state).")
    @OptionGroup var client: ClientOptions
    @Option(help: "Read this replica's own, possibly stale, state instead.")
    var local: UInt64?
    @Argument var key: String

    func run() throws {
        let (key, local) = (key, local)
        let response = try client.withClient { client in
            if let local { return try await client.call(.getLocal(key: key), at: ReplicaID(local)) }
            return try await client.call(.get(key: key))
        }
        guard let value = try response.value() else { throw ExitCode(1) }
        print(value)
    }
}

// A client of a whole group: it learns and caches the leader (as Ra's and etcd's clients do:
// sending to followers costs a redirect), and keeps one pipelined connection per replica.
import NIOCore
import NIOPosix
import Raft

public actor KuraClient {
    public let servers: [ReplicaID: HostPort]
    let group: any EventLoopGroup
    let timeout: Duration
    let tls: TLSContexts?
    var connections: [ReplicaID: ReplicaConnection] = [:]
    public private(set) var leader: ReplicaID?
    var rotation = 0

    public init(servers: [ReplicaID: HostPort], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                timeout: Duration = .seconds(10), tls: TLSContexts? = nil) {
        precondition(!servers.isEmpty, "a client needs at least one replica")
        self.servers = servers
        self.group = group
        self.timeout = timeout
        self.tls = tls
    }

    /// Sends `request` to the leader, following redirects. A write whose answer was lost comes
    /// back as `.unknown`; requests that never reached a replica are retried elsewhere. Retries
    /// go on for the client's timeout (an election on a loaded host can take seconds), and at
    /// least a few rounds of the group.
    public func call(_ request: Request) async throws -> Response {
        let ids = servers.keys.sorted()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var lastError = "no attempt"
        var attempt = 0
        while attempt < 4 * ids.count + 8 || clock.now < deadline {
            defer { attempt += 1 }
            let target = leader ?? ids[(rotation + attempt) % ids.count]
            let connection: ReplicaConnection
            do {
                connection = try await self.connection(to: target)
            } catch {
                lastError = "replica \(target): \(error)"
                forget(target)
                try await pause(attempt)
                continue
            }
            let response: Response
            do {
                response = try await connection.call(request, timeout: timeout)
            } catch {
                forget(target)
                if request.isWrite { return .unknown("replica \(target): \(error)") }
                lastError = "replica \(target): \(error)"
                // Retries now run for the whole timeout: a replica that drops every call at once
                // must not be asked again in a tight loop.
                try await pause(attempt)
                continue
            }
            switch response {
            case .notLeader(let hint, _):
                if let hint, hint != target, servers[hint] != nil {
                    leader = hint
                } else {
                    // An election is under way (or the hint is a replica we cannot reach): wait a little.
                    leader = nil
                    rotation += 1
                    try await pause(attempt)
                }
                lastError = "replica \(target): not the leader"
            case .ok, .failed, .unknown:
                leader = target
                return response
            }
        }
        throw ClientError.unreachable(lastError)
    }

    /// Sends `request` to one replica, whatever its role (status, local reads).
    public func call(_ request: Request, at replica: ReplicaID) async throws -> Response {
        do {
            return try await connection(to: replica).call(request, timeout: timeout)
        } catch {
            forget(replica)
            throw error
        }
    }

    public func status(of replica: ReplicaID) async throws -> ReplicaStatus {
        guard case .ok(let bytes) = try await call(.status, at: replica) else { throw ClientError.malformed("status refused") }
        return try ReplicaStatus.decode(bytes)
    }

    public func close() async {
        for connection in connections.values { await connection.close() }
        connections = [:]
    }

    func connection(to replica: ReplicaID) async throws -> ReplicaConnection {
        if let existing = connections[replica], existing.isActive { return existing }
        guard let address = servers[replica] else { throw ClientError.unreachable("replica \(replica) has no address") }
        let fresh = try await ReplicaConnection.connect(to: address, group: group, tls: tls)
        if let raced = connections[replica], raced.isActive {
            await fresh.close()
            return raced
        }
        connections[replica] = fresh
        return fresh
    }

    func forget(_ replica: ReplicaID) {
        if leader == replica { leader = nil }
        rotation += 1
        if let connection = connections[replica], !connection.isActive { connections[replica] = nil }
    }

    func pause(_ attempt: Int) async throws {
        try await Task.sleep(for: .milliseconds(min(200, 10 * (attempt + 1))))
    }
}

extension Response {
    /// The value of an `ok` answer to `get` / `getLocal`.
    public func value() throws -> String? {
        guard case .ok(let bytes) = self else { throw ClientError.malformed("expected a value, got \(self)") }
        var r = WireReader(bytes)
        do {
            let value = try r.optionalString()
            try r.end()
            return value
        } catch {
            throw ClientError.malformed("\(error)")
        }
    }
}

// The client side of the workload and the replicas' service of client requests: writes go
// through the log (answered when the replica that proposed them applies them), reads through
// ReadIndex (answered once the state machine reached the confirmed index).

import Raft

extension Simulation {
    static let keys = ["x", "y", "z"]
    static let clientTimeout = 300
    static let attemptsMax = 16

    mutating func startOperation(client c: Int) {
        // No new operations near the end, so that those in flight can finish.
        guard now < endTime - 2 * Self.clientTimeout else { return }
        var client = clients[c - 1]
        let key = random.pick(Self.keys)!
        let request = client.nextRequest
        client.nextRequest += 1
        let operation: ClientRequest.Operation
        let kind: KVOperation.Kind
        if random.chance(500) {
            let value = "\(c).\(request)"
            operation = .put(KVCommand(client: c, request: request, key: key, value: value))
            kind = .put(key: key, value: value)
        } else {
            operation = .get(key: key)
            kind = .get(key: key, value: nil)
        }
        historyPosition += 1
        history.append(KVOperation(client: c, kind: kind, invoked: historyPosition, completed: nil))
        client.pending = Client.Pending(request: request, operation: operation, history: history.count - 1)
        clients[c - 1] = client
        attempt(client: c)
    }

    /// Sends the pending operation to the leader the client believes in, or to anyone.
    mutating func attempt(client c: Int) {
        guard var pending = clients[c - 1].pending else { return }
        pending.attempt += 1
        clients[c - 1].pending = pending
        let members = ids.filter { hosts[$0].map { !$0.removed } ?? false }
        let target = clients[c - 1].leaderHint.flatMap { members.contains($0) ? $0 : nil } ?? random.pick(members)!
        let request = ClientRequest(client: c, request: pending.request, operation: pending.operation)
        events.schedule(.request(target, request), at: now + random.between(1, profile.delayMax))
        events.schedule(.clientTimeout(client: c, request: pending.request, attempt: pending.attempt), at: now + Self.clientTimeout)
    }

    mutating func receive(_ response: ClientResponse, client c: Int) {
        guard let pending = clients[c - 1].pending, pending.request == response.request else { return }
        switch response {
        case .ok(_, let value):
            if case .get(let key, _) = history[pending.history].kind {
                history[pending.history].kind = .get(key: key, value: value)
            }
            historyPosition += 1
            history[pending.history].completed = historyPosition
            stats.opsOK += 1
            finish(client: c)
        case .redirect(_, let hint):
            // Back off a little: during an election every replica redirects at once.
            clients[c - 1].leaderHint = hint
            events.schedule(.clientRetry(client: c, request: pending.request, attempt: pending.attempt), at: now + random.between(10, 60))
        }
    }

    mutating func timeout(client c: Int, request: Int, attempt: Int) {
        guard let pending = clients[c - 1].pending, pending.request == request, pending.attempt == attempt else { return }
        clients[c - 1].leaderHint = nil
        retry(client: c)
    }

    mutating func retry(client c: Int, request: Int, attempt: Int) {
        guard let pending = clients[c - 1].pending, pending.request == request, pending.attempt == attempt else { return }
        retry(client: c)
    }

    mutating func retry(client c: Int) {
        guard let pending = clients[c - 1].pending else { return }
        if pending.attempt < Self.attemptsMax {
            attempt(client: c)
            return
        }
        note("c\(c) gives up request \(pending.request) after \(pending.attempt) attempts")
        // Give up. A read that never answered had no effect: drop it from the history. A write
        // may still take effect later: it stays in the history with an unknown outcome.
        if case .get = pending.operation {
            history[pending.history].failed = true
            stats.opsFailed += 1
        } else {
            stats.opsUnknown += 1
        }
        finish(client: c)
    }

    mutating func finish(client c: Int) {
        clients[c - 1].pending = nil
        events.schedule(.clientStart(client: c), at: now + random.between(0, 30))
    }

    mutating func respond(_ client: Int, _ response: ClientResponse, from id: ReplicaID) {
        events.schedule(.response(client: client, response), at: now + random.between(1, profile.delayMax))
    }

    /// A request reached replica `id`.
    mutating func serve(_ request: ClientRequest, at id: ReplicaID) {
        var host = takeHost(id)
        switch request.operation {
        case .put(let command):
            do {
                let index = try host.replica.propose(command.encoded)
                if let old = host.proposals.updateValue((request.client, request.request), forKey: index) {
                    respond(old.client, .redirect(request: old.request, leaderHint: nil), from: id)
                }
            } catch {
                respond(request.client, .redirect(request: request.request, leaderHint: host.replica.leader), from: id)
            }
        case .get(let key) where options.unsafeLocalReads:
            respond(request.client, .ok(request: request.request, value: host.machine.read(key)), from: id)
        case .get(let key):
            readContext += 1
            do {
                try host.replica.readIndex(context: readContext)
                host.reads[readContext] = (request.client, request.request, key)
            } catch {
                respond(request.client, .redirect(request: request.request, leaderHint: host.replica.leader), from: id)
            }
        }
        hosts[id] = host
    }

    /// Answers reads whose index the state machine has reached.
    mutating func serveConfirmedReads(_ id: ReplicaID) {
        var host = takeHost(id)
        var waiting: [ReadState] = []
        for read in host.confirmedReads {
            guard let request = host.reads[read.context] else { continue }
            if read.index <= host.machine.appliedIndex {
                host.reads[read.context] = nil
                respond(request.client, .ok(request: request.request, value: host.machine.read(request.key)), from: id)
            } else {
                waiting.append(read)
            }
        }
        host.confirmedReads = waiting
        hosts[id] = host
    }
}

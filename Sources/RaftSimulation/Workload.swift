// The KV workload: clients that each run one operation at a time against the group, time out,
// retry (against the leader they were told about, or anyone), and give up after a bound. Every
// operation goes into the history that the linearizability checker reads.

import Raft

/// One client operation as the history records it. `invoked` and `completed` are positions in
/// the order the simulation saw the events (a counter, not time). `completed` is nil when the
/// outcome is unknown (the client gave up on a write that may still take effect); a read the
/// client gave up on is `failed` (it had no effect).
public struct KVOperation: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case put(key: String, value: String)
        /// `value` is what the read returned (nil: the key was absent).
        case get(key: String, value: String?)
    }
    public var client: Int
    public var kind: Kind
    public var invoked: Int
    public var completed: Int?
    public var failed = false

    public var key: String {
        switch kind {
        case .put(let key, _), .get(let key, _): return key
        }
    }
}

struct ClientRequest: Sendable {
    enum Operation: Sendable {
        case put(KVCommand)
        case get(key: String)
    }
    var client: Int
    var request: Int
    var operation: Operation
}

enum ClientResponse: Sendable {
    case ok(request: Int, value: String?)
    /// Try elsewhere: not the leader (with a hint), or this attempt's entry was lost.
    case redirect(request: Int, leaderHint: ReplicaID?)

    var request: Int {
        switch self {
        case .ok(let r, _), .redirect(let r, _): return r
        }
    }
}

struct Client: Sendable {
    struct Pending: Sendable {
        var request: Int
        var operation: ClientRequest.Operation
        var attempt = 0
        var history: Int
    }

    let id: Int
    var nextRequest = 1
    var pending: Pending?
    var leaderHint: ReplicaID?

    init(id: Int) { self.id = id }
}

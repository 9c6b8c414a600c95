// The replicated state machine of the simulated workload: a key-value map with client sessions
// (thesis §6.3), so a retried write is applied once even if the client sent it twice.

import Raft

struct KVCommand: Hashable, Sendable {
    var client: Int
    var request: Int
    var key: String
    var value: String

    var encoded: [UInt8] { Array("P|\(client)|\(request)|\(key)|\(value)".utf8) }

    init(client: Int, request: Int, key: String, value: String) {
        self.client = client
        self.request = request
        self.key = key
        self.value = value
    }

    init?(_ bytes: [UInt8]) {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "P", let c = Int(parts[1]), let r = Int(parts[2]) else { return nil }
        self.init(client: c, request: r, key: String(parts[3]), value: String(parts[4]))
    }
}

struct KVStateMachine: Sendable {
    private(set) var values: [String: String] = [:]
    /// The highest request applied per client.
    private(set) var sessions: [Int: Int] = [:]
    private(set) var appliedIndex: LogIndex = 0

    init() {}

    /// Applies one committed entry. Returns the command it carried, if any.
    mutating func apply(_ entry: Entry) -> KVCommand? {
        precondition(entry.index == appliedIndex.next, "applying \(entry.index) after \(appliedIndex)")
        appliedIndex = entry.index
        guard case .command(let bytes) = entry.payload, let command = KVCommand(bytes) else { return nil }
        if let last = sessions[command.client], command.request <= last { return command }  // duplicate
        sessions[command.client] = command.request
        values[command.key] = command.value
        return command
    }

    func read(_ key: String) -> String? { values[key] }

    /// A deterministic image: sorted keys, so equal states give equal bytes.
    var snapshotData: [UInt8] {
        var lines: [String] = []
        for key in values.keys.sorted() { lines.append("v|\(key)|\(values[key]!)") }
        for client in sessions.keys.sorted() { lines.append("s|\(client)|\(sessions[client]!)") }
        return Array(lines.joined(separator: "\n").utf8)
    }

    init(snapshot: Snapshot) {
        appliedIndex = snapshot.metadata.index
        for line in String(decoding: snapshot.data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "|", omittingEmptySubsequences: false)
            precondition(parts.count == 3, "corrupt state-machine snapshot")
            if parts[0] == "v" { values[String(parts[1])] = String(parts[2]) }
            if parts[0] == "s" { sessions[Int(parts[1])!] = Int(parts[2])! }
        }
    }
}

// The client and peer wire formats: every request and response survives a round trip, and bad
// bytes — truncated, trailing, unknown kinds, no magic, over-long frames — are refused with a
// message naming the problem; a server cuts off such a connection and keeps serving the others.
import Foundation
import NIOCore
import NIOPosix
import Raft
import RaftRuntime
@testable import RaftServer
import Testing

@Suite("Wire formats")
struct WireTests {
    static let requests: [Request] = [
        .put(key: "k", value: "v"), .put(key: "", value: String(repeating: "é", count: 300)),
        .put(key: "k", value: "v", returnPrevious: true),
        .cas(key: "k", expected: nil, value: "v"), .cas(key: "k", expected: "old", value: "new"),
        .get(key: "k"), .getLocal(key: "k"), .status, .setAddress(4, "127.0.0.1:7004"),
        .change(.addVoter(4)), .change(.addLearner(5)), .change(.promote(5)), .change(.remove(1)), .transferLeader(2),
        .membership,
    ]
    static let responses: [Response] = [
        .ok([]), .ok([1, 2, 3]), .notLeader(leader: nil, address: nil), .notLeader(leader: 3, address: "h:1"),
        .failed("why"), .unknown("timeout"),
    ]

    @Test func roundTrips() throws {
        for (i, request) in Self.requests.enumerated() {
            let envelope = Envelope(id: UInt64(i) * 0x1_0000_0001, body: request)
            #expect(try Envelope<Request>.decode(envelope.encode()) == envelope)
        }
        for (i, response) in Self.responses.enumerated() {
            let envelope = Envelope(id: UInt64(i), body: response)
            #expect(try Envelope<Response>.decode(envelope.encode()) == envelope)
        }
        for hello in [Hello.client, .peer(from: 7, cluster: 9)] {
            #expect(try Hello.decode(hello.encode()) == hello)
        }
    }

    @Test func everyTruncationAndTrailingByteIsRefused() throws {
        for request in Self.requests {
            let bytes = Envelope(id: 1, body: request).encode()
            for cut in 0..<bytes.count {
                #expect(throws: WireError.self) { try Envelope<Request>.decode(Array(bytes.prefix(cut))) }
            }
            #expect(throws: WireError.malformed("1 trailing bytes")) { try Envelope<Request>.decode(bytes + [0]) }
        }
    }

    @Test func unknownKindsAndMissingMagicAreNamed() throws {
        var bytes = Envelope(id: 1, body: Request.status).encode()
        bytes[8] = 99
        #expect(throws: WireError.malformed("request of unknown kind 99")) { try Envelope<Request>.decode(bytes) }
        #expect(throws: WireError.malformed("hello without the KURA magic")) { try Hello.decode(Array("HTTP/1.1".utf8)) }
        #expect(throws: WireError.malformed("string is not UTF-8")) {
            try Envelope<Request>.decode([1, 0, 0, 0, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0xFF, 0xFE])
        }
        let membership = Membership(applied: 42, configuration: Configuration(voters: [1, 3], learners: [5]))
        #expect(try Membership.decode(membership.encode()) == membership)
        var twice = WireWriter()
        twice.u64(1); twice.u32(2); twice.u64(3); twice.u64(3); twice.u32(0)
        #expect(throws: WireError.malformed("membership: malformed Raft message: configuration repeats a replica")) { try Membership.decode(twice.bytes) }
        #expect(throws: WireError.self) { try Membership.decode(Array(membership.encode().dropLast())) }
        #expect(throws: WireError.self) { try HostPort(parsing: "no-port") }
        #expect(throws: WireError.self) { try HostPort(parsing: "h:70000") }
        #expect(try HostPort(parsing: "127.0.0.1:7001") == HostPort(host: "127.0.0.1", port: 7001))
    }

    @Test("a bad client is cut off; the server keeps serving", .timeLimit(.minutes(1)))
    func badClientIsCutOff() async throws {
        let root = NSTemporaryDirectory() + "kura-wire-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let port = try HostPort.freeLoopbackPort()
        let address = HostPort(host: "127.0.0.1", port: port)
        var options = ServerOptions(id: 1, peers: [1: address], dataDirectory: root)
        options.tickMilliseconds = 10
        let server = try KuraServer(options: options) { error in Issue.record("fatal: \(error)") }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton

        // A frame announcing 1 GiB: refused before anything is buffered, the connection closed.
        let bad = try await ReplicaConnection.connect(to: address, group: group)
        var huge = bad.channel.allocator.buffer(capacity: 4)
        huge.writeInteger(UInt32(1 << 30), endianness: .little)
        try await bad.channel.writeAndFlush(huge)
        try await bad.channel.closeFuture.get()

        // A malformed request: closed too, and the caller learns it.
        let garbage = try await ReplicaConnection.connect(to: address, group: group)
        try await garbage.channel.writeAndFlush(garbage.channel.allocator.frame([1, 2, 3]))
        await #expect(throws: ClientError.self) { _ = try await garbage.call(.status, timeout: .seconds(5)) }

        let client = KuraClient(servers: [1: address], group: group, timeout: .seconds(5))
        var response = Response.failed("")
        for _ in 0..<100 {
            response = try await client.call(.put(key: "k", value: "v"))
            if case .ok = response { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(response == .ok([]))
        #expect(try await client.call(.get(key: "k")).value() == "v")
        await client.close()
    }
}

@Suite("Server machine")
struct ServerMachineTests {
    @Test("addresses and retired ids survive a snapshot; snapshots without retired ids still load")
    func snapshotRoundTrip() throws {
        var machine = try ServerMachine(snapshot: [])
        _ = machine.apply(ServerMachine.setAddress(4, "127.0.0.1:7004"), at: 1)
        _ = machine.apply(ServerMachine.setAddress(5, "127.0.0.1:7005"), at: 2)
        _ = machine.apply(ServerMachine.retire(4), at: 3)
        _ = machine.apply(KVMachine.encode(.put(key: "k", value: "v")), at: 4)
        #expect(machine.retired == [4])
        #expect(machine.addresses == [5: "127.0.0.1:7005"])
        #expect(try ServerMachine(snapshot: machine.snapshot()) == machine)

        // The format of session 2: KV blob and addresses, nothing after.
        let older = Array(machine.snapshot().dropLast(4 + 8))
        let restored = try ServerMachine(snapshot: older)
        #expect(restored.retired.isEmpty && restored.addresses == machine.addresses && restored.kv == machine.kv)
        #expect(throws: MessageCodecError.self) { try ServerMachine(snapshot: older + [1, 0]) }
    }
}

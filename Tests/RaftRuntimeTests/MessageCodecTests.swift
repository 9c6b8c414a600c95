// Raft messages survive the wire unchanged, and bytes from the network never trap: every prefix
// of a valid message and random bytes are refused with an error.
import Raft
@testable import RaftRuntime
import Testing

@Suite struct MessageCodecTests {
    static let metadata = SnapshotMetadata(index: 40, term: 3, configuration: Configuration(voters: [1, 2, 3], learners: [4]))
    static let messages: [Message.Kind] = [
        .preVote(lastIndex: 7, lastTerm: 2), .preVoteResponse(granted: true),
        .vote(lastIndex: 9, lastTerm: 3, transfer: true), .voteResponse(granted: false),
        .append(prevIndex: 4, prevTerm: 1, entries: [
            Entry(term: 2, index: 5, payload: .empty),
            Entry(term: 2, index: 6, payload: .command(Array("put k v".utf8))),
            Entry(term: 2, index: 7, payload: .configuration(.promote(4))),
        ], commit: 5),
        .append(prevIndex: 0, prevTerm: 0, entries: [], commit: 0),
        .appendResponse(.success(matchIndex: 12)), .appendResponse(.reject(rejectedIndex: 9, hintIndex: 6, hintTerm: 2)),
        .heartbeat(commit: 8, readContext: 77), .heartbeat(commit: 8, readContext: nil), .heartbeatResponse(readContext: 5),
        .snapshotChunk(metadata: metadata, offset: 16384, data: [1, 2, 3, 255], done: true),
        .snapshotChunkResponse(snapshotIndex: 40, nextOffset: 20000), .timeoutNow,
    ]

    @Test(arguments: messages)
    func roundTrip(kind: Message.Kind) throws {
        let message = Message(from: 2, to: 3, term: 11, kind: kind)
        let bytes = MessageCodec.encode(message, group: 42)
        let (group, decoded) = try MessageCodec.decode(bytes)
        #expect(group == 42)
        #expect(decoded == message)
        for cut in 0..<bytes.count {
            #expect(throws: MessageCodecError.self) { try MessageCodec.decode(Array(bytes.prefix(cut))) }
        }
        #expect(throws: MessageCodecError.self) { try MessageCodec.decode(bytes + [0]) }
    }

    /// Damaged messages (a few bytes changed after the version byte) decode or fail, never trap.
    @Test func damagedMessagesNeverTrap() {
        var generator = SplitMix64(seed: 5)
        for kind in Self.messages {
            let valid = MessageCodec.encode(Message(from: 1, to: 2, term: 3, kind: kind))
            for _ in 0..<500 {
                var bytes = valid
                for _ in 0..<Int(generator.next() % 3 + 1) {
                    bytes[1 + Int(generator.next() % UInt64(bytes.count - 1))] = UInt8(truncatingIfNeeded: generator.next())
                }
                _ = try? MessageCodec.decode(bytes)
            }
        }
    }
}

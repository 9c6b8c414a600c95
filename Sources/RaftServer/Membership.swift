// How a removed replica learns that it was removed, so it stops instead of running on as a
// member of nothing (etcd's "the member has been permanently removed from the cluster").
//
// The direct way: the replica applies a configuration without itself. But the leader stops sending
// to a replica as soon as the change that removes it is in the log, so the replica often never
// learns the commit. The fallback: a replica that has been a member and has heard nothing from a
// leader for a while asks its peers which configuration they have *applied* (committed, never a
// proposal that may yet be undone). One that has applied more than we have and leaves us out
// settles it.
import NIOCore
import Raft
import RaftRuntime

/// The configuration a replica has applied, and the index it has applied through.
public struct Membership: Equatable, Sendable {
    public var applied: LogIndex
    public var configuration: Configuration

    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.u64(applied.rawValue)
        MessageCodec.putConfiguration(configuration, &w.bytes)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Membership {
        var r = WireReader(bytes)
        let applied = LogIndex(try r.u64())
        do {
            return Membership(applied: applied, configuration: try MessageCodec.decodeConfiguration(bytes[r.position...]))
        } catch {
            throw .malformed("membership: \(error)")
        }
    }
}

/// Why `kura serve` stops when its replica is no longer a member.
public struct RemovedFromGroup: Error, CustomStringConvertible {
    public var replica: ReplicaID
    public var evidence: String
    public var description: String {
        "replica \(replica) was removed from the group (\(evidence)); its data directory no longer belongs to a member"
    }
}

extension GroupLoop {
    /// Ticks without a word from a leader before the peers are asked (and between two askings).
    static let silentTicksBeforeProbe = 60

    /// Called on the loop after every step: stops if the applied configuration leaves us out,
    /// and starts a probe of the peers after a long silence.
    func checkMembership(now: UInt64) -> RemovedFromGroup? {
        let applied = driver.replica.appliedIndex
        let configuration = driver.replica.configuration(at: applied)
        if configuration.contains(driver.id) {
            wasMember = true
        } else if wasMember {
            return RemovedFromGroup(replica: driver.id, evidence: "this replica applied \(configuration) at index \(applied)")
        }
        let silence = tickNanoseconds * UInt64(Self.silentTicksBeforeProbe)
        guard wasMember, driver.replica.role != .leader, now - lastLeaderContact >= silence,
              now - lastMembershipProbe >= silence else { return nil }
        lastMembershipProbe = now
        probePeers(applied: applied)
        return nil
    }

    /// Asks the peers one by one, on the transport's event loop, whether a configuration that
    /// leaves us out was applied. Kept as a future so that `KuraServer.stop` can wait for it
    /// before shutting that loop down (a connection still opening then would be lost mid-way).
    func probePeers(applied: LogIndex) {
        // One probe at a time: a slow one (a peer that never answers) is not stacked on.
        guard !probing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let peers = transport.addresses.sorted { $0.key < $1.key }
        probe = Self.probe(peers[...], me: driver.id, applied: applied, transport: transport)
            .map { [self] removed in
                if let removed { submit([.removed(removed)]) }
            }
            .always { [self] _ in probing.store(false, ordering: .releasing) }
    }

    private static func probe(_ peers: ArraySlice<(key: ReplicaID, value: HostPort)>, me: ReplicaID, applied: LogIndex,
                              transport: PeerTransport) -> EventLoopFuture<RemovedFromGroup?> {
        let loop = transport.loop
        guard let (peer, address) = peers.first, !transport.isClosed else { return loop.makeSucceededFuture(nil) }
        // A short handshake: `KuraServer.stop` waits for the probe, which must not hang on a peer
        // that accepts and never answers.
        return ReplicaConnection.connecting(to: address, group: loop, tls: transport.tls, handshake: .seconds(1))
            .flatMap { connection in
                connection.calling(.membership, timeout: .seconds(2))
                    .always { _ in connection.channel.close(promise: nil) }
            }
            .map { response -> RemovedFromGroup? in
                guard case .ok(let bytes) = response, let theirs = try? Membership.decode(bytes),
                      theirs.applied > applied, !theirs.configuration.contains(me) else { return nil }
                return RemovedFromGroup(replica: me, evidence: "replica \(peer) applied \(theirs.configuration) at index \(theirs.applied)")
            }
            .recover { _ in nil }
            .flatMap { removed in
                if let removed { return loop.makeSucceededFuture(removed) }
                return probe(peers.dropFirst(), me: me, applied: applied, transport: transport)
            }
    }
}

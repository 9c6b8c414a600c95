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

    func probePeers(applied: LogIndex) {
        let me = driver.id
        let peers = transport.addresses
        let (loop, tls) = (transport.loop, transport.tls)
        Task { [self] in
            for (peer, address) in peers {
                guard let connection = try? await ReplicaConnection.connect(to: address, group: loop, tls: tls) else { continue }
                let response = try? await connection.call(.membership, timeout: .seconds(2))
                await connection.close()
                guard case .ok(let bytes)? = response, let theirs = try? Membership.decode(bytes),
                      theirs.applied > applied, !theirs.configuration.contains(me) else { continue }
                submit([.removed(RemovedFromGroup(
                    replica: me, evidence: "replica \(peer) applied \(theirs.configuration) at index \(theirs.applied)"))])
                return
            }
        }
    }
}

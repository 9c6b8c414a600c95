// Snapshots: the leader sends the state machine's latest snapshot in chunks to a follower that
// needs entries it has compacted away; the follower assembles the chunks and, on the last one,
// replaces its log (§7). Chunks are acknowledged one at a time; the final acknowledgement is an
// ordinary append success, sent only once the snapshot is durable (it goes out in a Ready).

extension Replica {
    // MARK: leader

    /// Switches `member` to the snapshot state and sends the first chunk. Returns whether
    /// anything was sent (false while the application is still producing a snapshot).
    mutating func sendSnapshot(to member: ReplicaID) -> Bool {
        guard progress[member]?.state != .snapshot else { return false }
        guard let snapshot = try? log.storage.snapshot() else { return false }
        precondition(snapshot.metadata.index >= log.storage.firstIndex.previous, "storage snapshot older than its log")
        progress[member]!.becomeSnapshot(snapshot)
        sendSnapshotChunk(to: member)
        return true
    }

    /// (Re)sends the chunk at the follower's current offset.
    mutating func sendSnapshotChunk(to member: ReplicaID) {
        guard let p = progress[member], p.state == .snapshot, let snapshot = p.snapshot else { return }
        let start = min(p.snapshotOffset, snapshot.data.count)
        let end = min(start + config.snapshotChunkBytes, snapshot.data.count)
        progress[member]!.snapshotIdle = 0
        send(member, .snapshotChunk(
            metadata: snapshot.metadata, offset: start, data: Array(snapshot.data[start..<end]),
            done: end == snapshot.data.count))
    }

    mutating func handleSnapshotChunkResponse(from member: ReplicaID, snapshotIndex: LogIndex, nextOffset: Int) {
        guard let p = progress[member] else { return }
        progress[member]!.recentActive = true
        guard p.state == .snapshot, let snapshot = p.snapshot, snapshot.metadata.index == snapshotIndex else { return }
        let offset = min(nextOffset, snapshot.data.count)
        // The chunk at this offset is already on its way: a duplicated or delayed answer must not
        // send it again, or every duplicate would multiply the chunks in flight. (A lost chunk is
        // resent by the idle timer.) A different offset — progress, or a follower that lost its
        // partial snapshot and asks from earlier — moves the transfer there.
        guard offset != p.snapshotOffset else { return }
        progress[member]!.snapshotOffset = offset
        sendSnapshotChunk(to: member)
    }

    // MARK: follower

    mutating func handleSnapshotChunk(
        from leaderID: ReplicaID, metadata: SnapshotMetadata, offset: Int, data: [UInt8], done: Bool
    ) {
        if metadata.index <= log.committed {
            // We already have everything it holds (a duplicate, or we caught up meanwhile).
            incomingSnapshot = nil
            send(leaderID, .appendResponse(.success(matchIndex: log.committed)))
            return
        }
        let sameTransfer = incomingSnapshot.map { $0.metadata == metadata && $0.term == term && $0.leader == leaderID } ?? false
        if offset == 0 && !sameTransfer {
            incomingSnapshot = IncomingSnapshot(metadata: metadata, leader: leaderID, term: term, data: [])
        }
        // A delayed duplicate of a chunk we already hold (chunk 0 included) does not restart the
        // transfer: the answer below tells the leader where we are.
        guard var incoming = incomingSnapshot, incoming.metadata == metadata, incoming.term == term,
            incoming.leader == leaderID, incoming.data.count == offset
        else {
            // Out of order or from an older transfer: tell the leader where we are.
            let expected = incomingSnapshot.map { $0.metadata == metadata && $0.term == term ? $0.data.count : 0 } ?? 0
            send(leaderID, .snapshotChunkResponse(snapshotIndex: metadata.index, nextOffset: expected))
            return
        }
        incoming.data += data
        guard done else {
            incomingSnapshot = incoming
            send(leaderID, .snapshotChunkResponse(snapshotIndex: metadata.index, nextOffset: incoming.data.count))
            return
        }
        incomingSnapshot = nil
        install(Snapshot(metadata: metadata, data: incoming.data), from: leaderID)
    }

    mutating func install(_ snapshot: Snapshot, from leaderID: ReplicaID) {
        let metadata = snapshot.metadata
        if log.matches(metadata.index, metadata.term) {
            // Our log already contains the snapshot's last entry, so it matches the leader's up
            // to there: fast-forward the commit index and keep our entries (§7).
            log.commit(to: metadata.index)
        } else {
            log.restore(snapshot)
            configurations = [(metadata.index, metadata.configuration)]
        }
        send(leaderID, .appendResponse(.success(matchIndex: metadata.index)))
    }
}

// The GlobalDatabase contract in portable SQL, over any SQLBackend (SQLite, PostgreSQL,
// CockroachDB). The apply path is global-tier.md §4.4: lock the group's guard row, skip what is
// applied, refuse gaps, de-duplicate request ids, apply effects with values from the entry only,
// advance the guard with a compare-and-set, commit — all in one transaction.

public struct SQLGlobalDatabase: GlobalDatabase {
    public let backend: any SQLBackend
    public let policy: RetryPolicy
    public let faults: FaultInjector?
    /// Batch size and parallelism of `checkpoint`; defaults per dialect.
    public var tuning: CheckpointTuning

    /// Opens a migrated database; refuses one at another schema version.
    public init(backend: any SQLBackend, policy: RetryPolicy = RetryPolicy(), faults: FaultInjector? = nil)
        async throws(GlobalDatabaseError)
    {
        self.backend = backend
        self.policy = policy
        self.faults = faults
        tuning = .defaults(for: backend.dialect)
        let found = try await GlobalSchema.currentVersion(backend, policy: policy)
        if found > GlobalSchema.version { throw .schemaTooNew(found: found, supported: GlobalSchema.version) }
        if found < GlobalSchema.version { throw .schemaTooOld(found: found, supported: GlobalSchema.version) }
    }

    /// Runs `body` as one transaction under the retry rules, for work beyond the domain methods.
    /// The body may run several times: database work only, no side effects. Pass `idempotent:
    /// true` only if running it again after a commit of unknown fate changes nothing.
    public func transaction<T: Sendable>(
        idempotent: Bool, _ body: @escaping @Sendable (any SQLSession) async throws -> T
    ) async throws(GlobalDatabaseError) -> T {
        try await backend.run(idempotent: idempotent, policy: policy, faults: faults, body)
    }

    public func apply(_ entries: [LogEntry], group: String) async throws(GlobalDatabaseError) -> ApplyReport {
        checkConsecutive(entries)
        guard !entries.isEmpty else { return ApplyReport() }
        let lock = backend.dialect.forUpdate
        // Idempotent: a replay of a committed attempt finds the guard advanced and skips everything.
        return try await transaction(idempotent: true) { s in
            // A look without a lock first: a racing applier that is behind skips what the other
            // applied instead of queueing on the guard row (and failing with 40001 behind it).
            let peek = "SELECT applied_index FROM raft_apply_state WHERE group_id = $1"
            if let seen = try await s.query(peek, [.text(group)]).first?.first?.int, seen >= entries.last!.index {
                var report = ApplyReport()
                report.alreadyApplied = entries.count
                return report
            }
            let guardSQL = peek + lock
            var rows = try await s.query(guardSQL, [.text(group)])
            if rows.isEmpty {
                try await s.execute(
                    """
                    INSERT INTO raft_apply_state (group_id, applied_index, applied_term) VALUES ($1, 0, 0)
                    ON CONFLICT (group_id) DO NOTHING
                    """, [.text(group)])
                rows = try await s.query(guardSQL, [.text(group)])
            }
            let applied = rows.first?.first?.int ?? 0
            var report = ApplyReport()
            let fresh = entries.filter { $0.index > applied }
            report.alreadyApplied = entries.count - fresh.count
            guard let first = fresh.first, let last = fresh.last else { return report }
            guard first.index == applied + 1 else { throw GlobalDatabaseError.gap(appliedIndex: applied, firstIndex: first.index) }
            for entry in fresh {
                if let request = entry.requestID {
                    let seen = try await s.query("SELECT outcome FROM applied_requests WHERE request_id = $1", [.id(request)])
                    if !seen.isEmpty {
                        report.duplicateRequests += 1
                        continue
                    }
                    let outcome = try await Self.run(entry.command, at: entry.index, in: s)
                    try await s.execute(
                        """
                        INSERT INTO applied_requests (request_id, group_id, raft_index, outcome, applied_us)
                        VALUES ($1, $2, $3, $4, $5)
                        """, [.id(request), .text(group), .int(entry.index), .text(outcome.code), .int(entry.timeUs)])
                } else {
                    _ = try await Self.run(entry.command, at: entry.index, in: s)
                }
                report.applied += 1
            }
            let moved = try await s.query(
                """
                UPDATE raft_apply_state SET applied_index = $2, applied_term = $3
                WHERE group_id = $1 AND applied_index = $4 RETURNING group_id
                """, [.text(group), .int(last.index), .int(last.term), .int(applied)])
            // The row is locked (or the transaction serialisable), so the guard cannot have moved.
            precondition(moved.count == 1, "apply guard of \(group) moved under a locked transaction")
            return report
        }
    }

    static func run(_ command: Command, at index: Int64, in s: any SQLSession) async throws -> Outcome {
        let raft = SQLValue.int(index)
        switch command {
        case .createUser(let u):
            let clash = try await s.query(
                "SELECT user_id FROM users WHERE user_id = $1 OR username_norm = $2", [.id(u.id), .text(u.normalizedName)])
            if clash.contains(where: { $0[0].id == u.id }) { return .rejected("userExists") }
            if !clash.isEmpty { return .rejected("usernameTaken") }
            try await s.execute(
                """
                INSERT INTO users (user_id, username, username_norm, display_name, created_us, raft_index)
                VALUES ($1, $2, $3, $4, $5, $6)
                """, [.id(u.id), .text(u.username), .text(u.normalizedName), SQLValue(u.displayName), .int(u.createdUs), raft])
        case .createAsset(let a):
            if try await !s.query("SELECT 1 FROM assets WHERE asset_id = $1", [.id(a.id)]).isEmpty {
                return .rejected("assetExists")
            }
            if try await s.query("SELECT 1 FROM users WHERE user_id = $1", [.id(a.ownerID)]).isEmpty {
                return .rejected("unknownOwner")
            }
            try await s.execute(
                """
                INSERT INTO assets (asset_id, kind, owner_id, name, visibility, head_version, created_us, raft_index)
                VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)
                """, [.id(a.id), .text(a.kind.rawValue), .id(a.ownerID), .text(a.name), .text(a.visibility.rawValue),
                    .int(a.createdUs), raft])
        case .publishVersion(let assetID, let versionID, let digest, let size, let count, let by, let at, let pin):
            if try await s.query("SELECT 1 FROM assets WHERE asset_id = $1", [.id(assetID)]).isEmpty {
                return .rejected("unknownAsset")
            }
            if try await !s.query("SELECT 1 FROM asset_versions WHERE version_id = $1", [.id(versionID)]).isEmpty {
                return .rejected("versionExists")
            }
            let n = try await s.query("SELECT COUNT(*) FROM asset_versions WHERE asset_id = $1", [.id(assetID)])
            let number = (n.first?.first?.int ?? 0) + 1
            try await s.execute(
                """
                INSERT INTO asset_versions (asset_id, version_no, version_id, index_digest, content_size, chunk_count,
                    state, created_by, created_us, raft_index)
                VALUES ($1, $2, $3, $4, $5, $6, 'ready', $7, $8, $9)
                """, [.id(assetID), .int(number), .id(versionID), .bytes(digest), .int(size), .int(Int64(count)),
                    .id(by), .int(at), raft])
            try await s.execute(
                "UPDATE assets SET head_version = $2, raft_index = $3 WHERE asset_id = $1", [.id(assetID), .int(number), raft])
            if let pin { try await s.execute("DELETE FROM cas_pins WHERE pin_id = $1", [.id(pin)]) }
        case .retractVersion(let assetID, let number):
            let hit = try await s.query(
                """
                UPDATE asset_versions SET state = 'retracted', raft_index = $3
                WHERE asset_id = $1 AND version_no = $2 RETURNING version_no
                """, [.id(assetID), .int(Int64(number)), raft])
            if hit.isEmpty { return .rejected("unknownVersion") }
        case .addPin(let p):
            let hit = try await s.query(
                """
                INSERT INTO cas_pins (pin_id, index_digest, holder, created_us, expires_us, raft_index)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pin_id) DO NOTHING RETURNING pin_id
                """, [.id(p.id), SQLValue(p.indexDigest), .text(p.holder), .int(p.createdUs), .int(p.expiresUs), raft])
            if hit.isEmpty { return .rejected("pinExists") }
        case .removePin(let id):
            try await s.execute("DELETE FROM cas_pins WHERE pin_id = $1", [.id(id)])
        case .spawnEntity(let e):
            let hit = try await s.query(
                """
                INSERT INTO persistent_entities (scope_id, entity_id, asset_id, owner_user_id, authority_kind,
                    authority_id, authority_epoch, state_blob, state_seq, updated_us, raft_index)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (scope_id, entity_id) DO NOTHING RETURNING entity_id
                """, [.id(e.scopeID), .id(e.entityID), SQLValue(e.assetID), SQLValue(e.ownerID),
                    .text(e.authorityKind.rawValue), SQLValue(e.authorityID), .int(e.authorityEpoch), SQLValue(e.state),
                    .int(e.stateSeq), .int(e.updatedUs), raft])
            if hit.isEmpty { return .rejected("entityExists") }
        case .transferAuthority(let scope, let id, let expected, let kind, let authority, let at):
            let rows = try await s.query(
                "SELECT authority_epoch FROM persistent_entities WHERE scope_id = $1 AND entity_id = $2",
                [.id(scope), .id(id)])
            guard let epoch = rows.first?.first?.int else { return .rejected("unknownEntity") }
            guard epoch == expected else { return .rejected("staleEpoch") }
            try await s.execute(
                """
                UPDATE persistent_entities SET authority_kind = $3, authority_id = $4, authority_epoch = $5,
                    updated_us = $6, raft_index = $7
                WHERE scope_id = $1 AND entity_id = $2
                """, [.id(scope), .id(id), .text(kind.rawValue), SQLValue(authority), .int(epoch + 1), .int(at), raft])
        case .registerInstance(let i):
            try await s.execute(
                """
                INSERT INTO instances (instance_id, world_asset_id, name, address, port, state, epoch,
                    lease_expires_us, raft_index)
                VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)
                ON CONFLICT (instance_id) DO UPDATE SET world_asset_id = excluded.world_asset_id,
                    name = excluded.name, address = excluded.address, port = excluded.port, state = excluded.state,
                    epoch = instances.epoch + 1, lease_expires_us = excluded.lease_expires_us,
                    raft_index = excluded.raft_index
                """, [.id(i.id), .id(i.worldAssetID), .text(i.name), .text(i.address), .int(Int64(i.port)),
                    .text(i.state.rawValue), .int(i.leaseExpiresUs), raft])
        }
        return .ok
    }
}

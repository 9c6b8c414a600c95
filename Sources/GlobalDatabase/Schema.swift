// Versioned schema in the portable subset (global-tier.md §2.3, from global-tier-schema.sql,
// trimmed to what the domain uses). A migration is a list of idempotent DDL statements run one at a
// time outside explicit transactions (CockroachDB forbids DDL mixed with DML), followed by a row in
// kura_schema. Re-running is harmless; a database newer than the binary is refused.

public enum GlobalSchema {
    /// migrations[v - 1] brings the schema from version v - 1 to v.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE IF NOT EXISTS raft_apply_state (
                group_id TEXT NOT NULL PRIMARY KEY, applied_index BIGINT NOT NULL, applied_term BIGINT NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS applied_requests (
                request_id {{UUID}} NOT NULL PRIMARY KEY, group_id TEXT NOT NULL, raft_index BIGINT NOT NULL,
                outcome TEXT NOT NULL, applied_us BIGINT NOT NULL)
            """,
            // Time-ordered: the clean-up of old request ids scans it (row-level TTL on CockroachDB).
            "CREATE INDEX IF NOT EXISTS applied_requests_by_time ON applied_requests (applied_us){{HASH}}",
            """
            CREATE TABLE IF NOT EXISTS users (
                user_id {{UUID}} NOT NULL PRIMARY KEY, username TEXT NOT NULL, username_norm TEXT NOT NULL,
                display_name TEXT, created_us BIGINT NOT NULL, raft_index BIGINT NOT NULL)
            """,
            "CREATE UNIQUE INDEX IF NOT EXISTS users_username_norm_key ON users (username_norm)",
            """
            CREATE TABLE IF NOT EXISTS assets (
                asset_id {{UUID}} NOT NULL PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('avatar', 'world', 'prop', 'shared_file', 'build')),
                owner_id {{UUID}} NOT NULL REFERENCES users (user_id), name TEXT NOT NULL,
                visibility TEXT NOT NULL CHECK (visibility IN ('private', 'unlisted', 'public')),
                head_version BIGINT, created_us BIGINT NOT NULL, raft_index BIGINT NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS assets_by_owner ON assets (owner_id, kind)",
            """
            CREATE TABLE IF NOT EXISTS asset_versions (
                asset_id {{UUID}} NOT NULL REFERENCES assets (asset_id), version_no BIGINT NOT NULL,
                version_id {{UUID}} NOT NULL, index_digest {{BYTES}} NOT NULL, content_size BIGINT NOT NULL,
                chunk_count BIGINT NOT NULL, state TEXT NOT NULL CHECK (state IN ('ready', 'retracted')),
                created_by {{UUID}} NOT NULL, created_us BIGINT NOT NULL, raft_index BIGINT NOT NULL,
                PRIMARY KEY (asset_id, version_no))
            """,
            "CREATE UNIQUE INDEX IF NOT EXISTS asset_versions_version_id_key ON asset_versions (version_id)",
            "CREATE INDEX IF NOT EXISTS asset_versions_by_index ON asset_versions (index_digest)",
            """
            CREATE TABLE IF NOT EXISTS cas_pins (
                pin_id {{UUID}} NOT NULL PRIMARY KEY, index_digest {{BYTES}}, holder TEXT NOT NULL,
                created_us BIGINT NOT NULL, expires_us BIGINT NOT NULL, raft_index BIGINT NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS cas_pins_by_expiry ON cas_pins (expires_us)",
            """
            CREATE TABLE IF NOT EXISTS persistent_entities (
                scope_id {{UUID}} NOT NULL, entity_id {{UUID}} NOT NULL, asset_id {{UUID}}, owner_user_id {{UUID}},
                authority_kind TEXT NOT NULL CHECK (authority_kind IN ('server', 'user', 'zone')),
                authority_id {{UUID}}, authority_epoch BIGINT NOT NULL, state_blob {{BYTES}},
                state_seq BIGINT NOT NULL, updated_us BIGINT NOT NULL, raft_index BIGINT NOT NULL,
                PRIMARY KEY (scope_id, entity_id))
            """,
            "CREATE INDEX IF NOT EXISTS persistent_entities_by_owner ON persistent_entities (owner_user_id)",
            """
            CREATE TABLE IF NOT EXISTS instances (
                instance_id {{UUID}} NOT NULL PRIMARY KEY, world_asset_id {{UUID}} NOT NULL, name TEXT NOT NULL,
                address TEXT NOT NULL, port BIGINT NOT NULL CHECK (port BETWEEN 1 AND 65535),
                state TEXT NOT NULL CHECK (state IN ('starting', 'running', 'draining', 'stopped')),
                epoch BIGINT NOT NULL, lease_expires_us BIGINT NOT NULL, raft_index BIGINT NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS instances_by_world ON instances (world_asset_id, state)",
        ]
    ]

    /// The schema version this binary reads and writes.
    public static var version: Int { migrations.count }

    static let versionTable =
        "CREATE TABLE IF NOT EXISTS kura_schema (version BIGINT NOT NULL PRIMARY KEY, applied_us BIGINT NOT NULL)"

    /// The version the database is at (0 when never migrated).
    static func currentVersion(_ backend: any SQLBackend, policy: RetryPolicy) async throws(GlobalDatabaseError) -> Int {
        do { try await backend.executeAlone(versionTable) } catch { throw wrap(backend, error) }
        let rows = try await backend.run(idempotent: true, policy: policy, faults: nil) { s in
            try await s.query("SELECT MAX(version) FROM kura_schema", [])
        }
        return Int(rows.first?.first?.int ?? 0)
    }

    /// Brings the database to this binary's version; returns (before, after).
    public static func migrate(_ backend: any SQLBackend, nowUs: Int64, policy: RetryPolicy = RetryPolicy())
        async throws(GlobalDatabaseError) -> (from: Int, to: Int)
    {
        let found = try await currentVersion(backend, policy: policy)
        guard found <= version else { throw .schemaTooNew(found: found, supported: version) }
        for v in (found + 1)...max(found + 1, version) where v <= version {
            for statement in migrations[v - 1] {
                do { try await backend.executeAlone(backend.dialect.ddl(statement)) } catch { throw wrap(backend, error) }
            }
            try await backend.run(idempotent: true, policy: policy, faults: nil) { s in
                try await s.execute(
                    "INSERT INTO kura_schema (version, applied_us) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
                    [.int(Int64(v)), .int(nowUs)])
            }
        }
        return (found, version)
    }

    static func wrap(_ backend: any SQLBackend, _ error: any Error) -> GlobalDatabaseError {
        if let e = error as? GlobalDatabaseError { return e }
        switch backend.classify(error) {
        case .constraint(let d): return .constraintViolation(d)
        case .unreachable(let d): return .unreachable(d)
        case .retry, .ambiguous, .other: return .backend("\(error)")
        }
    }
}

// Reads of SQLGlobalDatabase. Column lists are explicit and
// rows decode through one function per table, shared by point reads and `contents()`.

extension SQLGlobalDatabase {
    static let userColumns = "user_id, username, display_name, created_us"
    static let assetColumns = "asset_id, kind, owner_id, name, visibility, head_version, created_us"
    static let versionColumns =
        "asset_id, version_no, version_id, index_digest, content_size, chunk_count, state, created_by, created_us"
    static let pinColumns = "pin_id, index_digest, holder, created_us, expires_us"
    static let entityColumns = """
        scope_id, entity_id, asset_id, owner_user_id, authority_kind, authority_id, authority_epoch, state_blob,
        state_seq, updated_us
        """
    static let instanceColumns = "instance_id, world_asset_id, name, address, port, state, epoch, lease_expires_us"

    func select(_ sql: String, _ binds: [SQLValue] = []) async throws(GlobalDatabaseError) -> [SQLRow] {
        try await transaction(idempotent: true) { s in try await s.query(sql, binds) }
    }

    public func applyState(group: String) async throws(GlobalDatabaseError) -> ApplyState {
        let rows = try await select(
            "SELECT applied_index, applied_term FROM raft_apply_state WHERE group_id = $1", [.text(group)])
        return ApplyState(appliedIndex: rows.first?[0].int ?? 0, appliedTerm: rows.first?[1].int ?? 0)
    }

    public func outcome(request: ID) async throws(GlobalDatabaseError) -> Outcome? {
        try await select("SELECT outcome FROM applied_requests WHERE request_id = $1", [.id(request)])
            .first.map { Outcome(code: $0[0].text ?? "") }
    }

    public func user(_ id: ID) async throws(GlobalDatabaseError) -> User? {
        try await select("SELECT \(Self.userColumns) FROM users WHERE user_id = $1", [.id(id)]).first.map(Self.user)
    }

    public func asset(_ id: ID) async throws(GlobalDatabaseError) -> Asset? {
        try await select("SELECT \(Self.assetColumns) FROM assets WHERE asset_id = $1", [.id(id)]).first.map(Self.asset)
    }

    public func versions(of asset: ID) async throws(GlobalDatabaseError) -> [AssetVersion] {
        try await select(
            "SELECT \(Self.versionColumns) FROM asset_versions WHERE asset_id = $1 ORDER BY version_no", [.id(asset)]
        ).map(Self.version)
    }

    public func entity(scope: ID, id: ID) async throws(GlobalDatabaseError) -> PersistentEntity? {
        try await select(
            "SELECT \(Self.entityColumns) FROM persistent_entities WHERE scope_id = $1 AND entity_id = $2",
            [.id(scope), .id(id)]
        ).first.map(Self.entity)
    }

    public func instance(_ id: ID) async throws(GlobalDatabaseError) -> Instance? {
        try await select("SELECT \(Self.instanceColumns) FROM instances WHERE instance_id = $1", [.id(id)])
            .first.map(Self.instance)
    }

    public func gcRoots(nowUs: Int64) async throws(GlobalDatabaseError) -> Set<[UInt8]> {
        let rows = try await select(
            """
            SELECT index_digest FROM asset_versions WHERE state = 'ready'
            UNION SELECT index_digest FROM cas_pins WHERE expires_us > $1 AND index_digest IS NOT NULL
            """, [.int(nowUs)])
        return Set(rows.compactMap { $0[0].bytes })
    }

    public func contents() async throws(GlobalDatabaseError) -> GlobalContents {
        var c = GlobalContents()
        c.users = try await select("SELECT \(Self.userColumns) FROM users").map(Self.user)
        c.assets = try await select("SELECT \(Self.assetColumns) FROM assets").map(Self.asset)
        c.versions = try await select("SELECT \(Self.versionColumns) FROM asset_versions").map(Self.version)
        c.pins = try await select("SELECT \(Self.pinColumns) FROM cas_pins").map(Self.pin)
        c.entities = try await select("SELECT \(Self.entityColumns) FROM persistent_entities").map(Self.entity)
        c.instances = try await select("SELECT \(Self.instanceColumns) FROM instances").map(Self.instance)
        for row in try await select("SELECT request_id, outcome FROM applied_requests") {
            c.requests[row[0].id!] = row[1].text
        }
        c.sort()
        return c
    }

    // Decoding: a row that does not decode means the schema and this binary disagree — a bug.
    static func user(_ r: SQLRow) -> User {
        User(id: r[0].id!, username: r[1].text!, displayName: r[2].text, createdUs: r[3].int!)
    }

    static func asset(_ r: SQLRow) -> Asset {
        Asset(
            id: r[0].id!, kind: AssetKind(rawValue: r[1].text!)!, ownerID: r[2].id!, name: r[3].text!,
            visibility: Visibility(rawValue: r[4].text!)!, headVersion: r[5].int.map(Int.init), createdUs: r[6].int!)
    }

    static func version(_ r: SQLRow) -> AssetVersion {
        AssetVersion(
            assetID: r[0].id!, versionNo: Int(r[1].int!), versionID: r[2].id!, indexDigest: r[3].bytes!,
            contentSize: r[4].int!, chunkCount: Int(r[5].int!), state: VersionState(rawValue: r[6].text!)!,
            createdBy: r[7].id!, createdUs: r[8].int!)
    }

    static func pin(_ r: SQLRow) -> Pin {
        Pin(id: r[0].id!, indexDigest: r[1].bytes, holder: r[2].text!, createdUs: r[3].int!, expiresUs: r[4].int!)
    }

    static func entity(_ r: SQLRow) -> PersistentEntity {
        PersistentEntity(
            scopeID: r[0].id!, entityID: r[1].id!, assetID: r[2].id, ownerID: r[3].id,
            authorityKind: AuthorityKind(rawValue: r[4].text!)!, authorityID: r[5].id, authorityEpoch: r[6].int!,
            state: r[7].bytes, stateSeq: r[8].int!, updatedUs: r[9].int!)
    }

    static func instance(_ r: SQLRow) -> Instance {
        Instance(
            id: r[0].id!, worldAssetID: r[1].id!, name: r[2].text!, address: r[3].text!, port: Int(r[4].int!),
            state: InstanceState(rawValue: r[5].text!)!, epoch: r[6].int!, leaseExpiresUs: r[7].int!)
    }
}

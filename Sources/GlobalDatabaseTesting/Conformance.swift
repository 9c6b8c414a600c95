// The contract every GlobalDatabase keeps, as checks that return broken promises (empty means
// conforming). Each check wants a fresh, empty database; `make` supplies one.
import GlobalDatabase

public typealias MakeDatabase = @Sendable () async throws -> any GlobalDatabase

/// Runs every check on fresh databases from `make` and returns all problems, prefixed by check.
public func checkGlobalDatabase(_ make: MakeDatabase) async -> [String] {
    var problems: [String] = []
    for (name, check) in [
        ("apply", checkApplyPath), ("refusals", checkRefusals), ("checkpoints", checkCheckpoints),
        ("checkpoint races", { try await checkCheckpointRaces($0) }),
        ("constraint", checkConstraintViolation), ("log", { try await checkMatchesReference($0, count: 600, seed: 7) }),
    ] as [(String, @Sendable (any GlobalDatabase) async throws -> [String])] {
        do {
            problems += try await check(make()).map { "\(name): \($0)" }
        } catch {
            problems.append("\(name): unexpected error \(error)")
        }
    }
    return problems
}

/// Effects land, the guard advances, replays and re-proposed requests change nothing, gaps are refused.
public func checkApplyPath(_ db: any GlobalDatabase) async throws -> [String] {
    var p: [String] = []
    var rng = SplitMix64(seed: 1)
    let (alice, asset, pin, scope, entity, instance) =
        (ID(using: &rng), ID(using: &rng), ID(using: &rng), ID(using: &rng), ID(using: &rng), ID(using: &rng))
    let (v1, v2, request) = (ID(using: &rng), ID(using: &rng), ID(using: &rng))
    let digest1 = [UInt8](repeating: 1, count: 32), digest2 = [UInt8](repeating: 2, count: 32)
    let commands: [Command] = [
        .createUser(User(id: alice, username: "Alice", displayName: "A", createdUs: 10)),
        .createAsset(Asset(id: asset, kind: .world, ownerID: alice, name: "w", visibility: .public, createdUs: 11)),
        .addPin(Pin(id: pin, indexDigest: digest2, holder: "up", createdUs: 12, expiresUs: 1000)),
        .publishVersion(assetID: asset, versionID: v1, indexDigest: digest1, contentSize: 5, chunkCount: 1,
            createdBy: alice, createdUs: 13, pinID: nil),
        .publishVersion(assetID: asset, versionID: v2, indexDigest: digest2, contentSize: 6, chunkCount: 2,
            createdBy: alice, createdUs: 14, pinID: pin),
        .retractVersion(assetID: asset, versionNo: 1),
        .spawnEntity(PersistentEntity(scopeID: scope, entityID: entity, ownerID: alice, authorityKind: .server,
            updatedUs: 15)),
        .transferAuthority(scopeID: scope, entityID: entity, expectedEpoch: 1, kind: .user, authorityID: alice,
            updatedUs: 16),
        .registerInstance(Instance(id: instance, worldAssetID: asset, name: "i", address: "h", port: 9,
            state: .starting, leaseExpiresUs: 100)),
        .registerInstance(Instance(id: instance, worldAssetID: asset, name: "i", address: "h", port: 9,
            state: .running, leaseExpiresUs: 200)),
    ]
    let log = commands.enumerated().map { i, c in
        LogEntry(index: Int64(i + 1), term: 1, requestID: i == 0 ? request : nil, timeUs: Int64(i), command: c)
    }
    let report = try await db.apply(Array(log[0..<4]), group: "g")
    if report.applied != 4 { p.append("first batch applied \(report.applied), expected 4") }
    _ = try await db.apply(Array(log[4...]), group: "g")
    let state = try await db.applyState(group: "g")
    if state != ApplyState(appliedIndex: 10, appliedTerm: 1) { p.append("apply state \(state), expected 10/1") }
    if try await db.applyState(group: "other").appliedIndex != 0 { p.append("an unknown group is not at 0") }
    if try await db.user(alice)?.username != "Alice" { p.append("user not stored") }
    if try await db.outcome(request: request) != .ok { p.append("request outcome not stored as ok") }
    let a = try await db.asset(asset)
    if a?.headVersion != 2 || a?.ownerID != alice { p.append("asset head \(String(describing: a?.headVersion)), expected 2") }
    let versions = try await db.versions(of: asset)
    if versions.map(\.versionNo) != [1, 2] || versions.map(\.state) != [.retracted, .ready] || versions[1].indexDigest != digest2 {
        p.append("versions \(versions.map { ($0.versionNo, $0.state) })")
    }
    if try await db.gcRoots(nowUs: 0) != [digest2] { p.append("gc roots are not exactly the ready version (pin dropped)") }
    let e = try await db.entity(scope: scope, id: entity)
    if e?.authorityEpoch != 2 || e?.authorityKind != .user || e?.authorityID != alice { p.append("authority not transferred") }
    let i = try await db.instance(instance)
    if i?.epoch != 2 || i?.state != .running || i?.leaseExpiresUs != 200 { p.append("instance epoch/state \(String(describing: i))") }

    // Replays of any span change nothing and say so.
    let before = try await db.contents()
    let replay = try await db.apply(log, group: "g")
    if replay.applied != 0 || replay.alreadyApplied != 10 { p.append("replay report \(replay)") }
    if try await db.contents() != before { p.append("a replay changed the contents") }
    // A gap is refused and changes nothing.
    let gap = await applyError(db, [LogEntry(index: 12, term: 1, requestID: nil, timeUs: 0, command: .removePin(pin))], group: "g")
    if gap != .gap(appliedIndex: 10, firstIndex: 12) { p.append("gap reported as \(String(describing: gap))") }
    // A re-proposed request consumes its index but not its effects.
    let again = LogEntry(index: 11, term: 2, requestID: request, timeUs: 0,
        command: .createUser(User(id: ID(using: &rng), username: "Mallory", createdUs: 0)))
    let dup = try await db.apply([again], group: "g")
    if dup.duplicateRequests != 1 || dup.applied != 0 { p.append("re-proposed request report \(dup)") }
    if try await db.contents().users.count != 1 { p.append("a re-proposed request had effects") }
    if try await db.applyState(group: "g") != ApplyState(appliedIndex: 11, appliedTerm: 2) { p.append("duplicate did not consume its index") }
    return p
}

/// Refusals are outcomes, recorded for the client, and leave no effects.
public func checkRefusals(_ db: any GlobalDatabase) async throws -> [String] {
    var p: [String] = []
    var rng = SplitMix64(seed: 2)
    let (u1, u2, nobody, asset, scope, entity) =
        (ID(using: &rng), ID(using: &rng), ID(using: &rng), ID(using: &rng), ID(using: &rng), ID(using: &rng))
    let cases: [(Command, Outcome)] = [
        (.createUser(User(id: u1, username: "Bob", createdUs: 1)), .ok),
        (.createUser(User(id: u2, username: "bOB", createdUs: 2)), .rejected("usernameTaken")),
        (.createUser(User(id: u1, username: "Other", createdUs: 2)), .rejected("userExists")),
        (.createAsset(Asset(id: asset, kind: .avatar, ownerID: nobody, name: "x", visibility: .private, createdUs: 3)),
            .rejected("unknownOwner")),
        (.publishVersion(assetID: asset, versionID: ID(using: &rng), indexDigest: [1], contentSize: 1, chunkCount: 1,
            createdBy: u1, createdUs: 4, pinID: nil), .rejected("unknownAsset")),
        (.retractVersion(assetID: asset, versionNo: 1), .rejected("unknownVersion")),
        (.transferAuthority(scopeID: scope, entityID: entity, expectedEpoch: 1, kind: .zone, authorityID: nil,
            updatedUs: 5), .rejected("unknownEntity")),
        (.spawnEntity(PersistentEntity(scopeID: scope, entityID: entity, authorityKind: .zone, authorityEpoch: 4,
            updatedUs: 6)), .ok),
        (.transferAuthority(scopeID: scope, entityID: entity, expectedEpoch: 3, kind: .user, authorityID: u1,
            updatedUs: 7), .rejected("staleEpoch")),
    ]
    var requests: [ID] = []
    let log = cases.enumerated().map { i, c in
        requests.append(ID(using: &rng))
        return LogEntry(index: Int64(i + 1), term: 1, requestID: requests[i], timeUs: 0, command: c.0)
    }
    let report = try await db.apply(log, group: "r")
    if report.applied != cases.count { p.append("applied \(report.applied) of \(cases.count)") }
    for (i, c) in cases.enumerated() {
        let got = try await db.outcome(request: requests[i])
        if got != c.1 { p.append("entry \(i + 1): outcome \(String(describing: got)), expected \(c.1)") }
    }
    let contents = try await db.contents()
    if contents.users.map(\.username) != ["Bob"] || !contents.assets.isEmpty || !contents.versions.isEmpty {
        p.append("refused commands left effects")
    }
    if try await db.entity(scope: scope, id: entity)?.authorityEpoch != 4 { p.append("stale transfer moved the epoch") }
    return p
}

/// The error `apply` throws, or nil when it succeeds.
func applyError(_ db: any GlobalDatabase, _ entries: [LogEntry], group: String) async -> GlobalDatabaseError? {
    do {
        _ = try await db.apply(entries, group: group)
        return nil
    } catch {
        return error
    }
}

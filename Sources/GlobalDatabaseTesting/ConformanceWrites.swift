// Conformance, continued: write-behind checkpoints, atomicity under a constraint violation, and
// agreement with the in-memory reference over a random log, including racing appliers and faults.
import GlobalDatabase

/// Checkpoints land when the epoch matches and the sequence is newer; batches coalesce per entity.
public func checkCheckpoints(_ db: any GlobalDatabase) async throws -> [String] {
    var p: [String] = []
    var rng = SplitMix64(seed: 3)
    let (scope, a, b) = (ID(using: &rng), ID(using: &rng), ID(using: &rng))
    _ = try await db.apply([LogEntry(index: 1, term: 1, requestID: nil, timeUs: 0, command: .spawnEntity(
        PersistentEntity(scopeID: scope, entityID: a, authorityKind: .server, authorityEpoch: 2, updatedUs: 0)))],
        group: "c")
    func cp(_ id: ID, epoch: Int64, seq: Int64) -> EntityCheckpoint {
        EntityCheckpoint(scopeID: scope, entityID: id, authorityEpoch: epoch, stateSeq: seq, state: [UInt8(seq)], updatedUs: seq)
    }
    // a: seq 5 and 3 coalesce to 5; b is new and inserted.
    var changed = try await db.checkpoint([cp(a, epoch: 2, seq: 5), cp(a, epoch: 2, seq: 3), cp(b, epoch: 1, seq: 1)])
    if changed != 2 { p.append("first batch changed \(changed) rows, expected 2") }
    // Stale sequence, wrong epoch: ignored.
    changed = try await db.checkpoint([cp(a, epoch: 2, seq: 4), cp(b, epoch: 9, seq: 7)])
    if changed != 0 { p.append("stale checkpoints changed \(changed) rows") }
    let ea = try await db.entity(scope: scope, id: a), eb = try await db.entity(scope: scope, id: b)
    if ea?.stateSeq != 5 || ea?.state != [5] || ea?.authorityEpoch != 2 { p.append("entity a is \(String(describing: ea))") }
    if eb?.stateSeq != 1 || eb?.authorityKind != .server { p.append("entity b is \(String(describing: eb))") }
    // A large batch: many statements' worth, every row lands.
    let many = (0..<2500).map { _ in cp(ID(using: &rng), epoch: 1, seq: 1) }
    changed = try await db.checkpoint(many)
    if changed != 2500 { p.append("large batch changed \(changed) rows, expected 2500") }
    return p
}

/// Concurrent checkpoint calls over the same entities (fenced epochs, stale and newer sequences,
/// duplicates within a call) end exactly where the reference does: the newest sequence of the
/// matching epoch wins, whatever the interleaving of calls and of batches inside each call.
public func checkCheckpointRaces(_ db: any GlobalDatabase, calls: Int = 6, entities: Int = 240) async throws -> [String] {
    var rng = SplitMix64(seed: 5)
    let scope = ID(using: &rng)
    let ids = (0..<entities).map { _ in ID(using: &rng) }
    // A third exist at epoch 2 (spawned through the log); the rest are created by checkpoints.
    let log = ids.prefix(entities / 3).enumerated().map { i, id in
        LogEntry(index: Int64(i + 1), term: 1, requestID: nil, timeUs: 0, command: .spawnEntity(
            PersistentEntity(scopeID: scope, entityID: id, authorityKind: .server, authorityEpoch: 2, updatedUs: 0)))
    }
    let reference = MemoryGlobalDatabase()
    _ = try await db.apply(log, group: "cp")
    _ = try await reference.apply(log, group: "cp")
    let spawned = Set(ids.prefix(entities / 3))
    let work: [[EntityCheckpoint]] = (0..<calls).map { call in
        (0..<entities).map { k in
            let id = ids[Int(rng.next() % UInt64(entities))]
            // Unique per entity: the random part orders, call and position break ties.
            let seq = Int64(rng.next() % 1000) * 100_000 + Int64(call) * 10_000 + Int64(k)
            let epoch: Int64 = spawned.contains(id) && rng.next() % 3 == 0 ? 1 : (spawned.contains(id) ? 2 : 1)
            return EntityCheckpoint(scopeID: scope, entityID: id, authorityEpoch: epoch, stateSeq: seq,
                state: withUnsafeBytes(of: seq) { Array($0) }, updatedUs: seq)
        }
    }
    var p: [String] = []
    try await withThrowingTaskGroup(of: (Int, Int).self) { group in
        for call in work { group.addTask { (try await db.checkpoint(call), call.count) } }
        for try await (changed, size) in group where changed > size {
            p.append("a call of \(size) checkpoints changed \(changed) rows")
        }
    }
    for call in work { _ = await reference.checkpoint(call) }
    let got = try await db.contents().entities, want = await reference.contents().entities
    if got.count != want.count { p.append("\(got.count) entities, reference has \(want.count)") }
    let wrong = zip(got, want).filter { $0 != $1 }.count
    if wrong > 0 { p.append("\(wrong) entities differ from the reference") }
    return p
}

/// A constraint violation in the middle of a batch throws a clear error and applies nothing.
public func checkConstraintViolation(_ db: any GlobalDatabase) async throws -> [String] {
    var p: [String] = []
    var rng = SplitMix64(seed: 4)
    let user = ID(using: &rng)
    let bad = Instance(id: ID(using: &rng), worldAssetID: ID(using: &rng), name: "bad", address: "h", port: 0,
        state: .running, leaseExpiresUs: 0)
    let log = [
        LogEntry(index: 1, term: 1, requestID: nil, timeUs: 0, command: .createUser(User(id: user, username: "c", createdUs: 0))),
        LogEntry(index: 2, term: 1, requestID: nil, timeUs: 0, command: .registerInstance(bad)),
    ]
    let error = await applyError(db, log, group: "k")
    if db is MemoryGlobalDatabase { return [] }  // the reference has no schema constraints
    guard case .constraintViolation = error else { return ["constraint violation reported as \(String(describing: error))"] }
    if try await db.user(user) != nil { p.append("half of the batch was applied") }
    if try await db.applyState(group: "k").appliedIndex != 0 { p.append("the guard advanced") }
    return p
}

/// A random log applied in batches ends in exactly the reference's state.
public func checkMatchesReference(_ db: any GlobalDatabase, count: Int, seed: UInt64) async throws -> [String] {
    let log = randomLog(count: count, seed: seed)
    let reference = MemoryGlobalDatabase()
    _ = try await reference.apply(log, group: "m")
    for start in stride(from: 0, to: log.count, by: 37) {
        _ = try await db.apply(Array(log[start..<min(start + 37, log.count)]), group: "m")
    }
    return try await compare(db, reference, group: "m")
}

/// Two appliers race over the whole log twice each, in different batch sizes, while faults are
/// injected underneath `db`: the end state must be exactly that of one clean apply (`reference`).
public func checkRacingAppliers(
    _ db: any GlobalDatabase, reference: any GlobalDatabase, log: [LogEntry], group: String = "race"
) async throws -> [String] {
    _ = try await reference.apply(log, group: group)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        for batch in [97, 150] {
            tasks.addTask {
                for _ in 0..<2 {
                    for start in stride(from: 0, to: log.count, by: batch) {
                        // Each applier goes in order, so its next batch never leaves a gap.
                        _ = try await db.apply(Array(log[start..<min(start + batch, log.count)]), group: group)
                    }
                }
            }
        }
        try await tasks.waitForAll()
    }
    return try await compare(db, reference, group: group)
}

func compare(_ db: any GlobalDatabase, _ reference: any GlobalDatabase, group: String) async throws -> [String] {
    var p: [String] = []
    let (got, want) = (try await db.contents(), try await reference.contents())
    let gotState = try await db.applyState(group: group), wantState = try await reference.applyState(group: group)
    if gotState != wantState { p.append("apply state \(gotState), reference \(wantState)") }
    let counts: [(String, Int, Int)] = [
        ("users", got.users.count, want.users.count), ("assets", got.assets.count, want.assets.count),
        ("versions", got.versions.count, want.versions.count), ("pins", got.pins.count, want.pins.count),
        ("entities", got.entities.count, want.entities.count),
        ("instances", got.instances.count, want.instances.count),
        ("requests", got.requests.count, want.requests.count),
    ]
    for (name, a, b) in counts where a != b {
        p.append("\(a) \(name), reference has \(b)")
    }
    if got != want && p.isEmpty {
        if got.users != want.users { p.append("users differ") }
        if got.assets != want.assets { p.append("assets differ") }
        if got.versions != want.versions { p.append("versions differ") }
        if got.pins != want.pins { p.append("pins differ") }
        if got.entities != want.entities { p.append("entities differ") }
        if got.instances != want.instances { p.append("instances differ") }
        if got.requests != want.requests { p.append("request outcomes differ") }
    }
    if got != want && p.isEmpty { p.append("contents differ") }
    return p
}

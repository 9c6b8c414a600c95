// The reference implementation: the same contract held in dictionaries. The SQL backends must end
// in exactly the state this one reaches for the same log (the conformance suite compares them).

public actor MemoryGlobalDatabase: GlobalDatabase {
    private var state = [String: ApplyState]()
    private var requests = [ID: String]()
    private var users = [ID: User]()
    private var assets = [ID: Asset]()
    private var versions = [ID: [AssetVersion]]()
    private var pins = [ID: Pin]()
    private var entities = [EntityKey: PersistentEntity]()
    private var instances = [ID: Instance]()

    struct EntityKey: Hashable { var scope: ID, entity: ID }

    public init() {}

    public func apply(_ entries: [LogEntry], group: String) throws(GlobalDatabaseError) -> ApplyReport {
        checkConsecutive(entries)
        let current = state[group] ?? ApplyState(appliedIndex: 0, appliedTerm: 0)
        var report = ApplyReport()
        let fresh = entries.filter { $0.index > current.appliedIndex }
        report.alreadyApplied = entries.count - fresh.count
        guard let first = fresh.first else { return report }
        guard first.index == current.appliedIndex + 1 else {
            throw .gap(appliedIndex: current.appliedIndex, firstIndex: first.index)
        }
        for entry in fresh {
            if let request = entry.requestID {
                if requests[request] != nil {
                    report.duplicateRequests += 1
                    continue
                }
                requests[request] = run(entry.command).code
            } else {
                _ = run(entry.command)
            }
            report.applied += 1
        }
        state[group] = ApplyState(appliedIndex: fresh.last!.index, appliedTerm: fresh.last!.term)
        return report
    }

    private func run(_ command: Command) -> Outcome {
        switch command {
        case .createUser(let user):
            if users[user.id] != nil { return .rejected("userExists") }
            if users.values.contains(where: { $0.normalizedName == user.normalizedName }) {
                return .rejected("usernameTaken")
            }
            users[user.id] = user
        case .createAsset(var asset):
            if assets[asset.id] != nil { return .rejected("assetExists") }
            if users[asset.ownerID] == nil { return .rejected("unknownOwner") }
            asset.headVersion = nil
            assets[asset.id] = asset
        case .publishVersion(let assetID, let versionID, let digest, let size, let count, let by, let at, let pin):
            guard var asset = assets[assetID] else { return .rejected("unknownAsset") }
            if versions.values.joined().contains(where: { $0.versionID == versionID }) {
                return .rejected("versionExists")
            }
            let number = (versions[assetID]?.count ?? 0) + 1
            versions[assetID, default: []].append(AssetVersion(
                assetID: assetID, versionNo: number, versionID: versionID, indexDigest: digest, contentSize: size,
                chunkCount: count, createdBy: by, createdUs: at))
            asset.headVersion = number
            assets[assetID] = asset
            if let pin { pins[pin] = nil }
        case .retractVersion(let assetID, let number):
            guard let i = versions[assetID]?.firstIndex(where: { $0.versionNo == number }) else {
                return .rejected("unknownVersion")
            }
            versions[assetID]![i].state = .retracted
        case .addPin(let pin):
            if pins[pin.id] != nil { return .rejected("pinExists") }
            pins[pin.id] = pin
        case .removePin(let id):
            pins[id] = nil
        case .spawnEntity(let entity):
            let key = EntityKey(scope: entity.scopeID, entity: entity.entityID)
            if entities[key] != nil { return .rejected("entityExists") }
            entities[key] = entity
        case .transferAuthority(let scope, let id, let expected, let kind, let authority, let at):
            let key = EntityKey(scope: scope, entity: id)
            guard var entity = entities[key] else { return .rejected("unknownEntity") }
            guard entity.authorityEpoch == expected else { return .rejected("staleEpoch") }
            entity.authorityKind = kind
            entity.authorityID = authority
            entity.authorityEpoch += 1
            entity.updatedUs = at
            entities[key] = entity
        case .registerInstance(var instance):
            instance.epoch = (instances[instance.id]?.epoch ?? 0) + 1
            instances[instance.id] = instance
        }
        return .ok
    }

    public func applyState(group: String) -> ApplyState {
        state[group] ?? ApplyState(appliedIndex: 0, appliedTerm: 0)
    }

    public func outcome(request: ID) -> Outcome? { requests[request].map(Outcome.init(code:)) }
    public func user(_ id: ID) -> User? { users[id] }
    public func asset(_ id: ID) -> Asset? { assets[id] }
    public func versions(of asset: ID) -> [AssetVersion] { versions[asset] ?? [] }
    public func entity(scope: ID, id: ID) -> PersistentEntity? { entities[EntityKey(scope: scope, entity: id)] }
    public func instance(_ id: ID) -> Instance? { instances[id] }

    public func gcRoots(nowUs: Int64) -> Set<[UInt8]> {
        var roots = Set(versions.values.joined().filter { $0.state == .ready }.map(\.indexDigest))
        for pin in pins.values where pin.expiresUs > nowUs {
            if let digest = pin.indexDigest { roots.insert(digest) }
        }
        return roots
    }

    public func checkpoint(_ checkpoints: [EntityCheckpoint]) -> Int {
        var changed = 0
        for c in coalesce(checkpoints) {
            let key = EntityKey(scope: c.scopeID, entity: c.entityID)
            if var entity = entities[key] {
                guard entity.authorityEpoch == c.authorityEpoch, entity.stateSeq < c.stateSeq else { continue }
                entity.state = c.state
                entity.stateSeq = c.stateSeq
                entity.updatedUs = c.updatedUs
                entities[key] = entity
            } else {
                entities[key] = PersistentEntity(
                    scopeID: c.scopeID, entityID: c.entityID, authorityKind: .server, authorityEpoch: c.authorityEpoch,
                    state: c.state, stateSeq: c.stateSeq, updatedUs: c.updatedUs)
            }
            changed += 1
        }
        return changed
    }

    public func contents() -> GlobalContents {
        var c = GlobalContents()
        c.users = Array(users.values)
        c.assets = Array(assets.values)
        c.versions = Array(versions.values.joined())
        c.pins = Array(pins.values)
        c.entities = Array(entities.values)
        c.instances = Array(instances.values)
        c.requests = requests
        c.sort()
        return c
    }
}

/// Entries handed to `apply` must be consecutive and ascending; anything else is a caller bug.
public func checkConsecutive(_ entries: [LogEntry]) {
    for (a, b) in zip(entries, entries.dropFirst()) {
        precondition(b.index == a.index + 1, "log entries must be consecutive: \(a.index) then \(b.index)")
    }
}

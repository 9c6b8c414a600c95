// A deterministic consensus log that exercises every command, valid and refused: names taken,
// unknown owners, stale epochs, re-registered instances, and re-proposed request ids.
import GlobalDatabase
@_exported import struct Raft.SplitMix64


public func randomLog(count: Int, seed: UInt64, firstIndex: Int64 = 1) -> [LogEntry] {
    var rng = SplitMix64(seed: seed)
    var users: [ID] = [], assets: [ID] = [], entities: [(ID, ID)] = [], instances: [ID] = [], requests: [ID] = []
    var entries: [LogEntry] = []
    let scope = ID(using: &rng)
    for i in 0..<count {
        let index = firstIndex + Int64(i)
        let time = 1_700_000_000_000_000 + index * 1000
        let pickUser = { (rng: inout SplitMix64) in users.isEmpty ? ID(using: &rng) : users.randomElement(using: &rng)! }
        let command: Command
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<15:
            let id = ID(using: &rng)
            // Every tenth name repeats an earlier one in other case: refused as taken.
            let n = users.count > 3 && i % 10 == 0 ? Int.random(in: 0..<users.count, using: &rng) : users.count
            command = .createUser(User(id: id, username: "User\(n)", displayName: i % 3 == 0 ? nil : "u \(n)", createdUs: time))
            users.append(id)
        case 15..<28:
            let id = ID(using: &rng)
            let owner = i % 17 == 0 ? ID(using: &rng) : pickUser(&rng)
            command = .createAsset(Asset(
                id: id, kind: AssetKind.allCases.randomElement(using: &rng)!, ownerID: owner, name: "asset \(i)",
                visibility: Visibility.allCases.randomElement(using: &rng)!, createdUs: time))
            assets.append(id)
        case 28..<45 where !assets.isEmpty:
            let digest = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            command = .publishVersion(
                assetID: assets.randomElement(using: &rng)!, versionID: ID(using: &rng), indexDigest: digest,
                contentSize: Int64.random(in: 0..<1 << 30, using: &rng), chunkCount: Int.random(in: 1..<9000, using: &rng),
                createdBy: pickUser(&rng), createdUs: time, pinID: nil)
        case 45..<50 where !assets.isEmpty:
            command = .retractVersion(assetID: assets.randomElement(using: &rng)!, versionNo: Int.random(in: 1...3, using: &rng))
        case 50..<58:
            let digest = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            command = .addPin(Pin(
                id: ID(using: &rng), indexDigest: i % 4 == 0 ? nil : digest, holder: "upload-\(i)", createdUs: time,
                expiresUs: time + Int64.random(in: -1_000_000..<10_000_000, using: &rng)))
        case 58..<72:
            let e = (i % 5 == 0 ? ID(using: &rng) : scope, ID(using: &rng))
            command = .spawnEntity(PersistentEntity(
                scopeID: e.0, entityID: e.1, assetID: assets.randomElement(using: &rng), ownerID: pickUser(&rng),
                authorityKind: .server, authorityID: nil, authorityEpoch: 1, state: [UInt8(i & 255)], stateSeq: 1,
                updatedUs: time))
            entities.append(e)
        case 72..<88 where !entities.isEmpty:
            let e = entities.randomElement(using: &rng)!
            command = .transferAuthority(
                scopeID: e.0, entityID: e.1, expectedEpoch: Int64.random(in: 1...3, using: &rng),
                kind: AuthorityKind.allCases.randomElement(using: &rng)!, authorityID: pickUser(&rng), updatedUs: time)
        default:
            let id = !instances.isEmpty && i % 2 == 0 ? instances.randomElement(using: &rng)! : ID(using: &rng)
            instances.append(id)
            command = .registerInstance(Instance(
                id: id, worldAssetID: assets.randomElement(using: &rng) ?? ID(using: &rng), name: "world \(i)",
                address: "10.0.0.\(i % 250)", port: 7000 + i % 1000, state: .running, leaseExpiresUs: time + 180_000_000))
        }
        var request: ID? = nil
        if Int.random(in: 0..<100, using: &rng) < 50 {
            // 3 % re-propose an earlier request: its effects must not happen twice.
            if !requests.isEmpty && Int.random(in: 0..<100, using: &rng) < 6 {
                request = requests.randomElement(using: &rng)
            } else {
                request = ID(using: &rng)
                requests.append(request!)
            }
        }
        entries.append(LogEntry(index: index, term: 1 + index / 1000, requestID: request, timeUs: time, command: command))
    }
    return entries
}

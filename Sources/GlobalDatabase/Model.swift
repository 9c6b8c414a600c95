// The global tier's domain: accounts, assets and their versions, the pins that keep chunks alive,
// persistent entities with owner, authority and fencing epoch, and running instances. Every value is
// chosen by the proposer and carried in the log entry (ids, times, digests), so replaying an entry
// writes identical rows.

/// A 128-bit identifier (a UUIDv4 chosen by the proposer). Random keys spread writes over the key
/// space, so no range of a CockroachDB cluster becomes a hot spot.
public struct ID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A version-4 UUID drawn from the generator handed in (tests pass a seeded one).
    public init(using rng: inout some RandomNumberGenerator) {
        high = (rng.next() & ~0xF000) | 0x4000
        low = (rng.next() & ~(0xC000 << 48)) | (0x8000 << 48)
    }

    // Inlinable so callers get a specialised loop: the generic version was a hot spot in decoding.
    @inlinable
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16, "an ID is 16 bytes")
        var h: UInt64 = 0, l: UInt64 = 0, i = 0
        for b in bytes {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
            i += 1
        }
        self.init(high: h, low: l)
    }

    /// Parses the canonical 8-4-4-4-12 hexadecimal form.
    public init?(_ text: String) {
        let hex = text.filter { $0 != "-" }
        guard text.count == 36, hex.count == 32, let h = UInt64(hex.prefix(16), radix: 16),
            let l = UInt64(hex.suffix(16), radix: 16)
        else { return nil }
        self.init(high: h, low: l)
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    public var description: String {
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { r in
            String(hex[hex.index(hex.startIndex, offsetBy: r.lowerBound)..<hex.index(hex.startIndex, offsetBy: r.upperBound)])
        }
        return parts.joined(separator: "-")
    }

    public static func < (a: ID, b: ID) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

public struct User: Hashable, Sendable {
    public var id: ID
    public var username: String
    public var displayName: String?
    public var createdUs: Int64

    public init(id: ID, username: String, displayName: String? = nil, createdUs: Int64) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.createdUs = createdUs
    }

    /// Usernames are unique regardless of case.
    public var normalizedName: String { username.lowercased() }
}

public enum AssetKind: String, Sendable, CaseIterable { case avatar, world, prop, sharedFile = "shared_file", build }
public enum Visibility: String, Sendable, CaseIterable { case `private`, unlisted, `public` }

public struct Asset: Hashable, Sendable {
    public var id: ID
    public var kind: AssetKind
    public var ownerID: ID
    public var name: String
    public var visibility: Visibility
    /// The version clients get by default; nil until the first publish.
    public var headVersion: Int?
    public var createdUs: Int64

    public init(
        id: ID, kind: AssetKind, ownerID: ID, name: String, visibility: Visibility, headVersion: Int? = nil,
        createdUs: Int64
    ) {
        self.id = id
        self.kind = kind
        self.ownerID = ownerID
        self.name = name
        self.visibility = visibility
        self.headVersion = headVersion
        self.createdUs = createdUs
    }
}

public enum VersionState: String, Sendable { case ready, retracted }

/// An immutable version of an asset: one pointer (the index blob's digest) into the chunk store.
public struct AssetVersion: Hashable, Sendable {
    public var assetID: ID
    public var versionNo: Int
    public var versionID: ID
    public var indexDigest: [UInt8]
    public var contentSize: Int64
    public var chunkCount: Int
    public var state: VersionState
    public var createdBy: ID
    public var createdUs: Int64

    public init(
        assetID: ID, versionNo: Int, versionID: ID, indexDigest: [UInt8], contentSize: Int64, chunkCount: Int,
        state: VersionState = .ready, createdBy: ID, createdUs: Int64
    ) {
        self.assetID = assetID
        self.versionNo = versionNo
        self.versionID = versionID
        self.indexDigest = indexDigest
        self.contentSize = contentSize
        self.chunkCount = chunkCount
        self.state = state
        self.createdBy = createdBy
        self.createdUs = createdUs
    }
}

/// A garbage-collection root for an upload that no version references yet.
public struct Pin: Hashable, Sendable {
    public var id: ID
    public var indexDigest: [UInt8]?
    public var holder: String
    public var createdUs: Int64
    public var expiresUs: Int64

    public init(id: ID, indexDigest: [UInt8]?, holder: String, createdUs: Int64, expiresUs: Int64) {
        self.id = id
        self.indexDigest = indexDigest
        self.holder = holder
        self.createdUs = createdUs
        self.expiresUs = expiresUs
    }
}

public enum AuthorityKind: String, Sendable, CaseIterable { case server, user, zone }

/// An entity that survives server restarts. `ownerID` is who it belongs to, `authority*` who
/// simulates it now; `authorityEpoch` fences stale authorities, `stateSeq` orders snapshots.
public struct PersistentEntity: Hashable, Sendable {
    public var scopeID: ID
    public var entityID: ID
    public var assetID: ID?
    public var ownerID: ID?
    public var authorityKind: AuthorityKind
    public var authorityID: ID?
    public var authorityEpoch: Int64
    public var state: [UInt8]?
    public var stateSeq: Int64
    public var updatedUs: Int64

    public init(
        scopeID: ID, entityID: ID, assetID: ID? = nil, ownerID: ID? = nil, authorityKind: AuthorityKind,
        authorityID: ID? = nil, authorityEpoch: Int64 = 1, state: [UInt8]? = nil, stateSeq: Int64 = 0,
        updatedUs: Int64
    ) {
        self.scopeID = scopeID
        self.entityID = entityID
        self.assetID = assetID
        self.ownerID = ownerID
        self.authorityKind = authorityKind
        self.authorityID = authorityID
        self.authorityEpoch = authorityEpoch
        self.state = state
        self.stateSeq = stateSeq
        self.updatedUs = updatedUs
    }
}

public enum InstanceState: String, Sendable { case starting, running, draining, stopped }

/// A running world server. `epoch` is a fencing token bumped on every (re-)registration.
public struct Instance: Hashable, Sendable {
    public var id: ID
    public var worldAssetID: ID
    public var name: String
    public var address: String
    public var port: Int
    public var state: InstanceState
    public var epoch: Int64
    public var leaseExpiresUs: Int64

    public init(
        id: ID, worldAssetID: ID, name: String, address: String, port: Int, state: InstanceState, epoch: Int64 = 0,
        leaseExpiresUs: Int64
    ) {
        self.id = id
        self.worldAssetID = worldAssetID
        self.name = name
        self.address = address
        self.port = port
        self.state = state
        self.epoch = epoch
        self.leaseExpiresUs = leaseExpiresUs
    }
}

// The server side of entity replication, pure: a `WorldTick` is the world at one tick, and each
// subscriber's `ReplicationSession` turns it into one binary frame holding only what that
// subscriber does not have yet — spawns (keyframes) for entities entering its view, despawns for
// those leaving, owner changes, and deltas for those that moved. Deltas are encoded once per
// entity per tick and the same bytes copied into every frame whose subscriber holds the previous
// tick's state (Iris's and the Replication Graph's "do the work once"; research/replication.md §4).
//
// Frame: u8 kind (1), varint tick, varint baseline tick (the last tick this subscriber was sent),
// varint message count (a frame cut short is refused, even at a message boundary), then the
// messages, `u8 type | varint length | body`:
//   1 spawn   varint entity, varint owner, varint epoch, u8 n + n bytes asset digest, keyframe
//   2 despawn varint entity
//   3 update  varint entity, delta
//   4 owner   varint entity, varint owner, varint epoch
// The stream is reliable and ordered (a WebSocket), so the baseline needs no acknowledgement.

public struct WorldEntity: Equatable, Sendable {
    public var state: EntityState
    /// Who has authority over the entity, and the fencing epoch consensus gave that authority.
    public var owner: UInt64
    public var epoch: UInt64
    /// Content digest of the entity's model in the bulk store (at most 64 bytes). A new asset,
    /// or an epoch lower than before, makes the entity a new one to subscribers: despawned, then
    /// spawned again on the next tick.
    public var asset: [UInt8] {
        didSet { precondition(asset.count <= 64, "an asset digest is at most 64 bytes") }
    }

    public init(state: EntityState, owner: UInt64, epoch: UInt64, asset: [UInt8]) {
        precondition(asset.count <= 64, "an asset digest is at most 64 bytes")
        self.state = state
        self.owner = owner
        self.epoch = epoch
        self.asset = asset
    }
}

enum MessageType: UInt8 {
    case spawn = 1
    case despawn = 2
    case update = 3
    case owner = 4
}

public struct WorldTick: Sendable {
    public let tick: UInt64
    public let entities: [UInt64: WorldEntity]
    let previous: [UInt64: EntityState]
    /// Update messages against `previous`, made on first use this tick.
    var shared: [UInt64: [UInt8]] = [:]
    /// Updates served from the shared encodings, and encodings made for them.
    public private(set) var sharedUses = 0
    public var sharedEncodings: Int { shared.count }

    /// The world at `tick`; `previous` is the tick before it (nil for the first).
    public init(tick: UInt64, entities: [UInt64: WorldEntity], after previous: WorldTick?) {
        precondition(previous.map { tick > $0.tick } ?? (tick > 0), "ticks must increase from 1")
        self.tick = tick
        self.entities = entities
        self.previous = previous?.entities.mapValues(\.state) ?? [:]
    }

    /// The update message turning `base` into the entity's state now, shared when `base` is the
    /// previous tick's state.
    mutating func update(_ id: UInt64, from base: EntityState) -> [UInt8]? {
        let now = entities[id]!.state
        guard now != base else { return nil }
        if base == previous[id] {
            sharedUses += 1
            if let bytes = shared[id] { return bytes }
            let bytes = Self.message(.update) { w in w.varint(id); _ = now.encodeDelta(from: base, into: &w) }
            shared[id] = bytes
            return bytes
        }
        return Self.message(.update) { w in w.varint(id); _ = now.encodeDelta(from: base, into: &w) }
    }

    static func message(_ type: MessageType, _ body: (inout FrameWriter) -> Void) -> [UInt8] {
        var inner = FrameWriter(capacity: 64)
        body(&inner)
        var w = FrameWriter(capacity: inner.bytes.count + 3)
        w.u8(type.rawValue)
        w.varint(UInt64(inner.bytes.count))
        w.append(inner.bytes)
        return w.bytes
    }
}

public struct ReplicationSession: Sendable {
    struct Held: Sendable {
        var state: EntityState
        var owner: UInt64
        var epoch: UInt64
        var asset: [UInt8]
    }

    /// The largest spawn message (64-byte digest, 8 trackers, 10-byte varints) and frame header:
    /// a smaller limit could leave an entity that never fits.
    public static let smallestFrameLimit = 237 + 31

    /// Frames stay under this; what does not fit waits for the next tick (64 KiB: Godot's
    /// WebSocket peers' default buffer).
    public let maxFrameBytes: Int
    var held: [UInt64: Held] = [:]
    public private(set) var lastTick: UInt64 = 0

    public init(maxFrameBytes: Int = 64 << 10) {
        precondition(maxFrameBytes >= Self.smallestFrameLimit, "a frame must hold the largest spawn")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Entities this subscriber holds.
    public var heldCount: Int { held.count }

    /// The frame for `world`, given the entities this subscriber may see now; nil when it holds
    /// everything already. Despawns and owner changes go first, then moves, then spawns.
    public mutating func frame(for world: inout WorldTick, visible: Set<UInt64>) -> [UInt8]? {
        precondition(world.tick > lastTick, "tick \(world.tick) after \(lastTick)")
        // Messages first, the header (whose count is known only at the end) in front after.
        var w = FrameWriter(capacity: 1024)
        var count: UInt64 = 0
        let headerMax = 1 + 3 * 10
        func fits(_ message: [UInt8]) -> Bool {
            guard w.bytes.count + message.count + headerMax <= maxFrameBytes else { return false }
            count += 1
            return true
        }

        // Gone, out of view, or another entity under the same id (a new asset, an older epoch).
        var despawned: Set<UInt64> = []
        for id in held.keys.sorted() {
            let mine = held[id]!
            if let now = world.entities[id], visible.contains(id), now.asset == mine.asset, now.epoch >= mine.epoch { continue }
            let message = WorldTick.message(.despawn) { $0.varint(id) }
            guard fits(message) else { break }
            w.append(message)
            held[id] = nil
            despawned.insert(id)
        }
        for id in visible.sorted() {
            guard let entity = world.entities[id], let mine = held[id], entity.asset == mine.asset, entity.epoch >= mine.epoch else { continue }
            if entity.owner != mine.owner || entity.epoch != mine.epoch {
                let message = WorldTick.message(.owner) { $0.varint(id); $0.varint(entity.owner); $0.varint(entity.epoch) }
                guard fits(message) else { continue }
                w.append(message)
                held[id]!.owner = entity.owner
                held[id]!.epoch = entity.epoch
            }
            if let message = world.update(id, from: mine.state), fits(message) {
                w.append(message)
                held[id]!.state = entity.state
            }
        }
        for id in visible.sorted() where held[id] == nil && !despawned.contains(id) {
            guard let entity = world.entities[id] else { continue }
            let message = WorldTick.message(.spawn) { m in
                m.varint(id)
                m.varint(entity.owner)
                m.varint(entity.epoch)
                m.u8(UInt8(entity.asset.count))
                m.append(entity.asset)
                entity.state.encodeKeyframe(into: &m)
            }
            guard fits(message) else { continue }
            w.append(message)
            held[id] = Held(state: entity.state, owner: entity.owner, epoch: entity.epoch, asset: entity.asset)
        }
        guard count > 0 else { return nil }
        var frame = FrameWriter(capacity: w.bytes.count + headerMax)
        frame.u8(1)
        frame.varint(world.tick)
        frame.varint(lastTick)
        frame.varint(count)
        frame.append(w.bytes)
        lastTick = world.tick
        return frame.bytes
    }
}

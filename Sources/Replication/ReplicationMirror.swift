// The client side, pure: applies frames to the entities the client holds. It is what a Godot
// client's decoder must do, the reference the tests check the server against, and the fuzzing
// target for malformed input. A frame is decoded whole before anything is applied, so a bad frame
// changes nothing; a frame built on a tick the client never saw is refused (a lost frame).

public struct ReplicationMirror: Sendable {
    public struct Entity: Equatable, Sendable {
        public var state: EntityState
        public var owner: UInt64
        public var epoch: UInt64
        public var asset: [UInt8]

        public init(state: EntityState, owner: UInt64, epoch: UInt64, asset: [UInt8]) {
            self.state = state
            self.owner = owner
            self.epoch = epoch
            self.asset = asset
        }
    }

    public private(set) var entities: [UInt64: Entity] = [:]
    /// The tick of the last frame applied.
    public private(set) var tick: UInt64 = 0

    public init() {}

    public mutating func apply(_ frame: [UInt8]) throws(ReplicationError) {
        var r = FrameReader(frame)
        let kind = try r.u8("frame kind")
        guard kind == 1 else { throw .malformed("frame kind \(kind)") }
        let newTick = try r.varint("tick")
        let baseline = try r.varint("baseline tick")
        guard baseline == tick else { throw .malformed("frame built on tick \(baseline), but this client is at tick \(tick)") }
        guard newTick > baseline else { throw .malformed("tick \(newTick) is not after its baseline \(baseline)") }
        let count = try r.varint("message count")
        var changes: [UInt64: Entity?] = [:]
        var seen: UInt64 = 0
        while !r.isAtEnd {
            seen += 1
            guard seen <= count else { throw .malformed("more messages than the \(count) the frame announces") }
            let type = try r.u8("message type")
            try r.nested("message \(type)") { (m) throws(ReplicationError) in
                let (id, change) = try decode(type, &m, staged: changes)
                guard changes[id] == nil || type == MessageType.update.rawValue else {
                    throw .malformed("entity \(id) appears twice in one frame")
                }
                changes[id] = change
            }
        }
        guard seen == count else { throw .malformed("frame announces \(count) messages but holds \(seen)") }
        for (id, change) in changes { entities[id] = change }
        tick = newTick
    }

    /// One message: the entity it names and what that entity becomes (nil: despawned).
    func decode(_ type: UInt8, _ m: inout FrameReader, staged: [UInt64: Entity?]) throws(ReplicationError) -> (UInt64, Entity?) {
        let id = try m.varint("entity id")
        // A frame may carry an owner change and a move of the same entity, in that order.
        let current = staged[id] ?? entities[id]
        switch MessageType(rawValue: type) {
        case .spawn:
            guard current == nil else { throw .malformed("spawn of entity \(id), which this client already holds") }
            let owner = try m.varint("spawn owner")
            let epoch = try m.varint("spawn epoch")
            let length = Int(try m.u8("asset digest length"))
            guard length <= 64 else { throw .malformed("asset digest of \(length) bytes") }
            var asset: [UInt8] = []
            for _ in 0..<length { asset.append(try m.u8("asset digest")) }
            return (id, Entity(state: try EntityState.decodeKeyframe(&m), owner: owner, epoch: epoch, asset: asset))
        case .despawn:
            guard current != nil else { throw .malformed("despawn of entity \(id), which this client does not hold") }
            return (id, nil)
        case .update:
            guard var entity = current else { throw .malformed("update of entity \(id), which this client does not hold") }
            entity.state = try EntityState.decodeDelta(&m, base: entity.state)
            return (id, entity)
        case .owner:
            guard var entity = current else { throw .malformed("owner change of entity \(id), which this client does not hold") }
            let owner = try m.varint("owner")
            let epoch = try m.varint("epoch")
            guard epoch >= entity.epoch else { throw .malformed("entity \(id)'s epoch goes back from \(entity.epoch) to \(epoch)") }
            entity.owner = owner
            entity.epoch = epoch
            return (id, entity)
        case nil:
            throw .malformed("message type \(type)")
        }
    }
}

// An entity's replicated state, quantized, and its two encodings: a keyframe (the whole state:
// on first sight) and a delta against the state the subscriber already holds (only what changed,
// positions as zigzag varints of the difference, so a walking avatar's step is a byte per axis).
// An unchanged entity costs nothing: no message at all.

/// A tracked point of an avatar (head, hands, feet …) relative to the entity's root.
public struct Tracker: Equatable, Hashable, Sendable {
    /// Millimetres from the root, per axis (±32 m).
    public var offset: SIMD3<Int16>
    /// Smallest-three quaternion (`Quantize.rotation`).
    public var rotation: UInt32

    static let zero = Tracker(offset: .zero, rotation: 0)

    public init(offset: SIMD3<Int16>, rotation: UInt32) {
        self.offset = offset
        self.rotation = rotation
    }
}

public struct EntityState: Equatable, Hashable, Sendable {
    public static let trackerSlots = 8

    /// Millimetres, absolute.
    public var position: SIMD3<Int64>
    public var rotation: UInt32
    /// Slot i is tracker i (`trackerSlots` of them); nil where the entity has none.
    public var trackers: [Tracker?] {
        didSet { precondition(trackers.count == Self.trackerSlots, "an entity has exactly \(Self.trackerSlots) tracker slots") }
    }

    public init(position: SIMD3<Int64>, rotation: UInt32, trackers: [Tracker?] = []) {
        precondition(trackers.count <= Self.trackerSlots, "at most \(Self.trackerSlots) trackers")
        self.position = position
        self.rotation = rotation
        self.trackers = trackers + Array(repeating: nil, count: Self.trackerSlots - trackers.count)
    }

    var trackerMask: UInt8 {
        var mask: UInt8 = 0
        for (i, t) in trackers.enumerated() where t != nil { mask |= 1 << UInt8(i) }
        return mask
    }

    // MARK: keyframe

    public func encodeKeyframe(into w: inout FrameWriter) {
        for axis in 0..<3 { w.zigzag(position[axis]) }
        w.u32(rotation)
        w.u8(trackerMask)
        for tracker in trackers {
            guard let tracker else { continue }
            for axis in 0..<3 { w.zigzag(Int64(tracker.offset[axis])) }
            w.u32(tracker.rotation)
        }
    }

    public static func decodeKeyframe(_ r: inout FrameReader) throws(ReplicationError) -> EntityState {
        var position = SIMD3<Int64>()
        for axis in 0..<3 { position[axis] = try r.zigzag("keyframe position") }
        var state = EntityState(position: position, rotation: try r.u32("keyframe rotation"))
        let mask = try r.u8("keyframe tracker mask")
        for i in 0..<trackerSlots where mask & (1 << UInt8(i)) != 0 {
            state.trackers[i] = try decodeTracker(&r, base: Tracker.zero, fields: 3)
        }
        return state
    }

    // MARK: delta

    /// Appends what turns `base` into `self`; returns false (and appends nothing) if they are equal.
    public func encodeDelta(from base: EntityState, into w: inout FrameWriter) -> Bool {
        var mask: UInt8 = 0
        if position != base.position { mask |= 1 }
        if rotation != base.rotation { mask |= 2 }
        if trackerMask != base.trackerMask { mask |= 4 }
        var changed: UInt8 = 0
        // A tracker new in this state is written against an all-zero one, as the decoder makes it.
        for i in 0..<Self.trackerSlots {
            if let new = trackers[i], new != base.trackers[i] ?? Tracker.zero { changed |= 1 << UInt8(i) }
        }
        if changed != 0 { mask |= 8 }
        guard mask != 0 else { return false }
        w.u8(mask)
        if mask & 1 != 0 { for axis in 0..<3 { w.zigzag(position[axis] &- base.position[axis]) } }
        if mask & 2 != 0 { w.u32(rotation) }
        if mask & 4 != 0 { w.u8(trackerMask) }
        if mask & 8 != 0 {
            w.u8(changed)
            for i in 0..<Self.trackerSlots where changed & (1 << UInt8(i)) != 0 {
                let new = trackers[i]!
                let old = base.trackers[i] ?? Tracker.zero
                let fields: UInt8 = (new.offset != old.offset ? 1 : 0) | (new.rotation != old.rotation ? 2 : 0)
                w.u8(fields)
                if fields & 1 != 0 { for axis in 0..<3 { w.zigzag(Int64(new.offset[axis]) - Int64(old.offset[axis])) } }
                if fields & 2 != 0 { w.u32(new.rotation) }
            }
        }
        return true
    }

    public static func decodeDelta(_ r: inout FrameReader, base: EntityState) throws(ReplicationError) -> EntityState {
        var state = base
        let mask = try r.u8("delta mask")
        guard mask & ~0x0f == 0, mask != 0 else { throw .malformed("delta mask \(mask)") }
        if mask & 1 != 0 {
            for axis in 0..<3 { state.position[axis] = base.position[axis] &+ (try r.zigzag("delta position")) }
        }
        if mask & 2 != 0 { state.rotation = try r.u32("delta rotation") }
        if mask & 4 != 0 {
            let present = try r.u8("delta tracker mask")
            for i in 0..<trackerSlots where present & (1 << UInt8(i)) == 0 { state.trackers[i] = nil }
            for i in 0..<trackerSlots where present & (1 << UInt8(i)) != 0 && state.trackers[i] == nil {
                state.trackers[i] = Tracker.zero
            }
        }
        if mask & 8 != 0 {
            let changed = try r.u8("delta changed trackers")
            for i in 0..<trackerSlots where changed & (1 << UInt8(i)) != 0 {
                guard let old = state.trackers[i] else { throw .malformed("delta changes tracker \(i), which is absent") }
                let fields = try r.u8("delta tracker fields")
                guard fields != 0, fields & ~3 == 0 else { throw .malformed("delta tracker fields \(fields)") }
                state.trackers[i] = try decodeTracker(&r, base: old, fields: fields)
            }
        }
        return state
    }

    static func decodeTracker(_ r: inout FrameReader, base: Tracker, fields: UInt8) throws(ReplicationError) -> Tracker {
        var tracker = base
        if fields & 1 != 0 {
            for axis in 0..<3 {
                // Wrapping: a hostile difference must be refused below, not trap here.
                let value = Int64(base.offset[axis]) &+ (try r.zigzag("tracker offset"))
                guard let narrow = Int16(exactly: value) else { throw .malformed("tracker offset \(value) mm beyond ±32 m") }
                tracker.offset[axis] = narrow
            }
        }
        if fields & 2 != 0 { tracker.rotation = try r.u32("tracker rotation") }
        return tracker
    }
}

// Server sessions against client mirrors: after every frame each client holds exactly the
// entities it may see, as the world has them; deltas are shared across subscribers; a frame over
// the size limit defers the rest to the next tick; bad frames are refused and change nothing.
import Replication
import struct Raft.SplitMix64
import Testing

/// A seeded world: entities walk, trackers jitter, owners change (with a higher epoch), entities
/// spawn and despawn; subscribers' views change.
struct World {
    var rng: SplitMix64
    var entities: [UInt64: WorldEntity] = [:]
    var nextID: UInt64 = 1
    var tick: WorldTick?

    init(seed: UInt64, count: Int) {
        rng = SplitMix64(seed: seed)
        for _ in 0..<count { spawn() }
    }

    mutating func spawn() {
        entities[nextID] = WorldEntity(state: randomState(&rng), owner: .random(in: 1...9, using: &rng), epoch: 1,
                                       asset: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        nextID += 1
    }

    mutating func step() {
        for id in entities.keys.sorted() {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<50:
                entities[id]!.state.position.x += .random(in: -50...50, using: &rng)
                entities[id]!.state.position.z += .random(in: -50...50, using: &rng)
            case 50..<60:
                entities[id]!.state = randomState(&rng)
            case 60..<63:
                entities[id]!.owner = .random(in: 1...9, using: &rng)
                entities[id]!.epoch += 1
            case 63:
                entities[id] = nil
            case 64:
                // The same id for another entity: a new model, its epoch starting again.
                entities[id] = WorldEntity(state: randomState(&rng), owner: 1, epoch: 1, asset: [UInt8.random(in: 0...255, using: &rng)])
            case 65:
                entities[id]!.asset = [UInt8.random(in: 0...255, using: &rng), 1]
            default:
                break  // still: costs nothing
            }
        }
        if Int.random(in: 0..<4, using: &rng) == 0 { spawn() }
    }

    mutating func advance() -> WorldTick {
        let next = WorldTick(tick: (tick?.tick ?? 0) + 1, entities: entities, after: tick)
        tick = next
        return next
    }

    mutating func view(_ fraction: Double) -> Set<UInt64> {
        Set(entities.keys.filter { _ in Double.random(in: 0..<1, using: &rng) < fraction })
    }
}

func expected(_ world: WorldTick, _ visible: Set<UInt64>) -> [UInt64: ReplicationMirror.Entity] {
    var out: [UInt64: ReplicationMirror.Entity] = [:]
    for id in visible {
        if let e = world.entities[id] { out[id] = ReplicationMirror.Entity(state: e.state, owner: e.owner, epoch: e.epoch, asset: e.asset) }
    }
    return out
}

@Suite struct SessionTests {
    @Test(arguments: 1...8 as ClosedRange<UInt64>)
    func everyClientHoldsExactlyWhatItSeesAfterEveryFrame(seed: UInt64) throws {
        var world = World(seed: seed, count: 60)
        var sessions = Array(repeating: ReplicationSession(), count: 4)
        var mirrors = Array(repeating: ReplicationMirror(), count: 4)
        var views = (0..<4).map { _ in world.view(0.5) }
        for _ in 0..<150 {
            world.step()
            if Int.random(in: 0..<10, using: &world.rng) == 0 { views[Int.random(in: 0..<4, using: &world.rng)] = world.view(0.5) }
            var tick = world.advance()
            for i in 0..<4 {
                if let frame = sessions[i].frame(for: &tick, visible: views[i]) {
                    try mirrors[i].apply(frame)
                }
                // What a client holds is the world's; an entity replaced under its id comes back a tick later.
                let want = expected(tick, views[i])
                for (id, entity) in mirrors[i].entities {
                    #expect(want[id] == entity, "seed \(seed), tick \(tick.tick), client \(i), entity \(id)")
                }
            }
            // A quiet tick: every client then holds exactly what it may see.
            var quiet = world.advance()
            for i in 0..<4 {
                if let frame = sessions[i].frame(for: &quiet, visible: views[i]) { try mirrors[i].apply(frame) }
                #expect(mirrors[i].entities == expected(quiet, views[i]), "seed \(seed), tick \(quiet.tick), client \(i)")
            }
        }
    }

    @Test func subscribersHoldingTheLastTickShareOneEncodingOfEachMove() throws {
        var world = World(seed: 9, count: 100)
        var sessions = Array(repeating: ReplicationSession(), count: 50)
        let everything = Set(world.entities.keys)
        var first = world.advance()
        for i in sessions.indices { _ = sessions[i].frame(for: &first, visible: everything) }
        for id in everything { world.entities[id]?.state.position.y += 10 }
        var tick = world.advance()
        var frames: [[UInt8]] = []
        for i in sessions.indices { frames.append(sessions[i].frame(for: &tick, visible: everything)!) }
        #expect(Set(frames).count == 1, "identical subscribers get identical frames")
        #expect(tick.sharedUses == 100 * 50 && tick.sharedEncodings == 100, "each move encoded once, used by all 50")
        var mirror = ReplicationMirror()
        var fresh = ReplicationSession()
        try mirror.apply(fresh.frame(for: &first, visible: everything)!)
        try mirror.apply(frames[0])
        #expect(mirror.entities == expected(tick, everything))
        // One frame of 100 one-axis moves: type, length, id, mask, three one- or two-byte varints.
        #expect(frames[0].count < 100 * 10, "\(frames[0].count) bytes for 100 small moves")
    }

    @Test func aFrameOverTheLimitDefersTheRestAndConverges() throws {
        var world = World(seed: 10, count: 200)
        var session = ReplicationSession(maxFrameBytes: 1024)
        var mirror = ReplicationMirror()
        let everything = Set(world.entities.keys)
        var frames = 0
        while true {
            var tick = world.advance()
            guard let frame = session.frame(for: &tick, visible: everything) else { break }
            #expect(frame.count <= 1024)
            try mirror.apply(frame)
            frames += 1
            try #require(frames < 100, "the session must converge")
        }
        #expect(frames > 5, "200 keyframes do not fit one 1 KiB frame")
        #expect(mirror.entities == expected(world.tick!, everything))
    }

    @Test func badFramesAreRefusedAndChangeNothing() throws {
        var world = World(seed: 11, count: 20)
        var session = ReplicationSession()
        var mirror = ReplicationMirror()
        let everything = Set(world.entities.keys)
        var tick = world.advance()
        let first = session.frame(for: &tick, visible: everything)!
        world.step()
        tick = world.advance()
        let second = session.frame(for: &tick, visible: everything)!

        #expect(throws: ReplicationError.malformed("frame built on tick 1, but this client is at tick 0")) { try mirror.apply(second) }
        // Every truncation of a good frame is refused and leaves the client as it was.
        for length in 0..<first.count {
            #expect(throws: ReplicationError.self) { try mirror.apply(Array(first[..<length])) }
            #expect(mirror.entities.isEmpty && mirror.tick == 0)
        }
        try mirror.apply(first)
        let held = mirror.entities
        #expect(throws: ReplicationError.malformed("frame built on tick 0, but this client is at tick 1")) { try mirror.apply(first) }
        // Random damage: never a crash, and a refused frame changes nothing.
        var rng = SplitMix64(seed: 12)
        for _ in 0..<20_000 {
            var damaged = second
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                damaged[Int.random(in: 0..<damaged.count, using: &rng)] = .random(in: 0...255, using: &rng)
            }
            var copy = mirror
            if (try? copy.apply(damaged)) == nil { #expect(copy.entities == held && copy.tick == 1) }
        }
        try mirror.apply(second)
        #expect(mirror.entities == expected(tick, everything))
    }

    @Test func aHostileTrackerDifferenceIsRefusedNotATrap() {
        // Spawn entity 1 with tracker 0 at x = +1 mm, then in the same frame move it by Int64.max.
        let spawn: [UInt8] = [0x01, 0x13, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
                              0x00, 0x00, 0x00, 0x00]
        let update: [UInt8] = [0x03, 0x10, 0x01, 0x08, 0x01, 0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00]
        var mirror = ReplicationMirror()
        #expect(throws: ReplicationError.self) { try mirror.apply([0x01, 0x01, 0x00, 0x02] + spawn + update) }
        #expect(mirror.entities.isEmpty)
    }
}

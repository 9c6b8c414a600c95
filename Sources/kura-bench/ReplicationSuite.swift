// kura-bench replication [--avatars N] [--subscribers N] [--ticks N]: a room of avatars (root and
// 3 or 6 trackers; two thirds walking at 1.4 m/s, the rest idle with 1.5 mm of tracker jitter) at
// 30 Hz, every subscriber seeing every avatar. Figures, each beside its peer in the same run:
// * update-bytes: mean bytes of one avatar's update in our frames, beside the same pose in
//   V-Sekai's sar1 form (u8 command + u32 id + u16 length, f32 position and quaternion for the
//   root and for each tracker, a u8 tracker mask; the full state every send);
// * fanout: entity updates put into subscribers' frames per second, beside JSON (Foundation's
//   JSONEncoder, one document of every visible pose per subscriber per tick: the naive server).
import Foundation
import Replication

enum ReplicationSuite {
    struct Options {
        var avatars = 100
        var subscribers = 100
        var ticks = 300

        init(_ arguments: [String]) throws {
            var rest = arguments[...]
            while let flag = rest.popFirst() {
                guard let value = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
                switch flag {
                case "--avatars": avatars = try ChunksSuite.Options.int(flag, value)
                case "--subscribers": subscribers = try ChunksSuite.Options.int(flag, value)
                case "--ticks": ticks = try ChunksSuite.Options.int(flag, value)
                default: throw BenchError("unknown option \(flag)")
                }
            }
        }
    }

    /// One avatar's motion, in metres and radians.
    struct Avatar {
        var x, z, heading: Double
        var walking: Bool
        var trackers: Int
        var rng: UInt64

        static let trackerBases: [SIMD3<Int16>] = [
            SIMD3(0, 1600, 0), SIMD3(-300, 1000, 0), SIMD3(300, 1000, 0), SIMD3(-100, 0, 0), SIMD3(100, 0, 0), SIMD3(0, 950, 0),
        ]

        mutating func noise() -> Double {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Double(rng >> 11) / Double(1 << 53) - 0.5
        }

        mutating func step(_ tick: Int) -> EntityState {
            if walking {
                x += cos(heading) * 1.4 / 30
                z += sin(heading) * 1.4 / 30
                heading += noise() * 0.02
            }
            let yaw = Quaternion(x: 0, y: sin(heading / 2), z: 0, w: cos(heading / 2))
            var state = EntityState(position: SIMD3(Quantize.millimetres(x), 0, Quantize.millimetres(z)), rotation: Quantize.rotation(yaw))
            let swing = walking ? sin(Double(tick) / 5) * 0.3 : 0
            for i in 0..<trackers {
                let jitter = { (a: inout Avatar) in Int16((a.noise() * 3).rounded()) }
                let base = Self.trackerBases[i]
                let offset = SIMD3(base.x + jitter(&self), base.y + jitter(&self), base.z + Int16(swing * 300 * (i % 2 == 0 ? 1 : -1)) + jitter(&self))
                let angle = swing * (i % 2 == 0 ? 1 : -1) + noise() * 0.01
                state.trackers[i] = Tracker(offset: offset, rotation: Quantize.rotation(Quaternion(x: sin(angle / 2), y: 0, z: 0, w: cos(angle / 2))))
            }
            return state
        }
    }

    struct JSONPose: Encodable {
        var id: UInt64
        var position: [Float]
        var rotation: [Float]
        var trackers: [[Float]]
    }

    static func run(_ report: inout Report, _ arguments: [String]) throws {
        let options = try Options(arguments)
        var avatars: [Avatar] = []
        for i in 0..<options.avatars {
            let x = Double(i % 10) * 2
            let z = Double(i / 10) * 2
            let trackers = i % 10 < 7 ? 3 : 6
            avatars.append(Avatar(x: x, z: z, heading: Double(i), walking: i % 3 != 0, trackers: trackers, rng: UInt64(i) + 1))
        }
        report.note("\(options.avatars) avatars at 30 Hz, \(options.subscribers) subscribers seeing all, \(options.ticks) ticks, load \(Tools.loadAverage())")
        var ticks: [WorldTick] = []
        var previous: WorldTick?
        var sar1Bytes = 0
        var updates = 0
        for t in 1...options.ticks {
            var entities: [UInt64: WorldEntity] = [:]
            for i in avatars.indices {
                let state = avatars[i].step(t)
                entities[UInt64(i + 1)] = WorldEntity(state: state, owner: UInt64(i + 1), epoch: 1, asset: Array(repeating: 7, count: 32))
                sar1Bytes += 7 + 28 + 1 + 28 * avatars[i].trackers
                updates += 1
            }
            let tick = WorldTick(tick: UInt64(t), entities: entities, after: previous)
            ticks.append(tick)
            previous = tick
        }
        let everyone = Set((1...options.avatars).map(UInt64.init))

        // Ours: every subscriber's frame for every tick; the first tick (keyframes) is left out of the bytes.
        var sessions = Array(repeating: ReplicationSession(), count: options.subscribers)
        var frameBytes = 0
        var delivered = 0
        let start = Clock.processCPU()
        for (n, original) in ticks.enumerated() {
            var tick = original
            for s in sessions.indices {
                let frame = sessions[s].frame(for: &tick, visible: everyone) ?? []
                if n > 0 {
                    frameBytes += frame.count
                    delivered += options.avatars
                }
            }
        }
        let ours = Double(delivered) / (Clock.processCPU() - start)

        // The naive peer: a JSON document of every visible pose, per subscriber, per tick.
        let encoder = JSONEncoder()
        var jsonBytes = 0
        let jsonStart = Clock.processCPU()
        for tick in ticks.dropFirst() {
            let poses = tick.entities.sorted { $0.key < $1.key }.map { id, e in
                let q = Quantize.quaternion(e.state.rotation)
                return JSONPose(id: id, position: [Float(e.state.position.x) / 1000, Float(e.state.position.y) / 1000, Float(e.state.position.z) / 1000],
                                rotation: [Float(q.x), Float(q.y), Float(q.z), Float(q.w)],
                                trackers: e.state.trackers.compactMap { $0 }.map { t in [Float(t.offset.x), Float(t.offset.y), Float(t.offset.z)] })
            }
            for _ in 0..<options.subscribers { jsonBytes += try encoder.encode(poses).count }
        }
        let json = Double(delivered) / (Clock.processCPU() - jsonStart)

        let perUpdate = Double(frameBytes) / Double(delivered)
        let sar1PerUpdate = Double(sar1Bytes) / Double(updates)
        report.note("frames: \(Report.format(perUpdate)) B an update with headers; JSON \(Report.format(Double(jsonBytes) / Double(delivered))) B")
        report.add("update-bytes", perUpdate, "B", peer: "sar1 f32 full state", peerValue: sar1PerUpdate)
        report.add("fanout", ours, "updates/CPU-s", peer: "JSON per subscriber", peerValue: json)
    }
}

// The byte level and the pose codec: varints, quantization error bounds, keyframes and deltas.
import Foundation
import Replication
import struct Raft.SplitMix64
import Testing

func angle(_ a: Quaternion, _ b: Quaternion) -> Double {
    let dot = abs(a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w)
    return 2 * acos(min(1, dot)) * 180 / Double.pi
}

func randomQuaternion(_ rng: inout SplitMix64) -> Quaternion {
    while true {
        let q = Quaternion(x: .random(in: -1...1, using: &rng), y: .random(in: -1...1, using: &rng),
                           z: .random(in: -1...1, using: &rng), w: .random(in: -1...1, using: &rng))
        let n = (q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w).squareRoot()
        if n > 0.1 && n <= 1 { return Quaternion(x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n) }
    }
}

func randomState(_ rng: inout SplitMix64) -> EntityState {
    var state = EntityState(
        position: SIMD3(.random(in: -1_000_000...1_000_000, using: &rng), .random(in: -5000...50_000, using: &rng),
                        .random(in: -1_000_000...1_000_000, using: &rng)),
        rotation: Quantize.rotation(randomQuaternion(&rng)))
    for i in 0..<EntityState.trackerSlots where Bool.random(using: &rng) {
        state.trackers[i] = Tracker(offset: SIMD3(.random(in: -2000...2000, using: &rng), .random(in: -2000...2000, using: &rng),
                                                  .random(in: -2000...2000, using: &rng)),
                                    rotation: Quantize.rotation(randomQuaternion(&rng)))
    }
    return state
}

@Suite struct CodecTests {
    @Test func varintsRoundTripAndOverlongOnesAreRefused() throws {
        let values: [UInt64] = [0, 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), .max - 1, .max]
        let signed: [Int64] = [0, -1, 1, -64, 63, -65, 64, .min, .max]
        var w = FrameWriter()
        for v in values { w.varint(v) }
        for v in signed { w.zigzag(v) }
        var r = FrameReader(w.bytes)
        for v in values { #expect(try r.varint("v") == v) }
        for v in signed { #expect(try r.zigzag("s") == v) }
        #expect(r.isAtEnd)
        var small = FrameWriter()
        small.zigzag(-3)
        #expect(small.bytes.count == 1, "a small delta of either sign is one byte")

        var overlong = FrameReader(Array(repeating: 0xff, count: 10) + [0x01])
        #expect(throws: ReplicationError.malformed("x: varint over 64 bits")) { try overlong.varint("x") }
        var truncated = FrameReader([0x80, 0x80])
        #expect(throws: ReplicationError.malformed("y: varint past the end")) { try truncated.varint("y") }
    }

    @Test func smallestThreeRotationsAreWithinAQuarterDegree() {
        var rng = SplitMix64(seed: 1)
        var worst = 0.0
        for _ in 0..<200_000 {
            let q = randomQuaternion(&rng)
            let back = Quantize.quaternion(Quantize.rotation(q))
            worst = max(worst, angle(q, back))
            let negated = Quaternion(x: -q.x, y: -q.y, z: -q.z, w: -q.w)
            #expect(Quantize.rotation(negated) == Quantize.rotation(q), "q and -q are one rotation")
        }
        #expect(worst <= 0.25, "worst error \(worst)°")
        #expect(worst > 0.05, "a 10-bit quantizer cannot be this exact: \(worst)°")
        #expect(angle(Quantize.quaternion(Quantize.rotation(.identity)), .identity) < 0.01)
    }

    @Test func positionsAreWholeMillimetres() {
        #expect(Quantize.millimetres(1.2344) == 1234 && Quantize.millimetres(-1.2346) == -1235)
        #expect(Quantize.millimetres(0.0005) == 1, "half a millimetre rounds away from zero")
    }

    @Test func keyframesAndDeltasRoundTrip() throws {
        var rng = SplitMix64(seed: 2)
        for _ in 0..<2000 {
            let base = randomState(&rng)
            var next = Bool.random(using: &rng) ? randomState(&rng) : base
            if Bool.random(using: &rng) { next.position.x += .random(in: -20...20, using: &rng) }
            var w = FrameWriter()
            base.encodeKeyframe(into: &w)
            var r = FrameReader(w.bytes)
            #expect(try EntityState.decodeKeyframe(&r) == base && r.isAtEnd)

            var d = FrameWriter()
            let changed = next.encodeDelta(from: base, into: &d)
            #expect(changed == (next != base))
            if changed {
                var r = FrameReader(d.bytes)
                #expect(try EntityState.decodeDelta(&r, base: base) == next && r.isAtEnd)
            } else {
                #expect(d.bytes.isEmpty)
            }
        }
    }

    @Test func aStepIsAFewBytesAndATrackerAppearingFromZeroIsKept() throws {
        let rotation = Quantize.rotation(.identity)
        let base = EntityState(position: SIMD3(1000, 1700, -400), rotation: rotation,
                               trackers: [Tracker(offset: SIMD3(0, 600, 0), rotation: rotation)])
        var step = base
        step.position.x += 47
        var w = FrameWriter()
        #expect(step.encodeDelta(from: base, into: &w))
        #expect(w.bytes.count == 4, "mask and three zigzag varints, not \(w.bytes.count) bytes")

        // A new tracker equal to the all-zero one the decoder starts from must still appear.
        var withZero = base
        withZero.trackers[3] = Tracker(offset: .zero, rotation: 0)
        var z = FrameWriter()
        #expect(withZero.encodeDelta(from: base, into: &z))
        var r = FrameReader(z.bytes)
        #expect(try EntityState.decodeDelta(&r, base: base) == withZero)
    }

    @Test func badDeltasAreRefusedByName() {
        let base = EntityState(position: .zero, rotation: 0)
        var mask = FrameReader([0x10])
        #expect(throws: ReplicationError.malformed("delta mask 16")) { try EntityState.decodeDelta(&mask, base: base) }
        var absent = FrameReader([0x08, 0x01, 0x01, 0x02])
        #expect(throws: ReplicationError.malformed("delta changes tracker 0, which is absent")) {
            try EntityState.decodeDelta(&absent, base: base)
        }
        var far = FrameReader([0x00, 0x00, 0x00, 0, 0, 0, 0, 0x01] + [0x80, 0x80, 0x04, 0, 0] + [0, 0, 0, 0])
        #expect(throws: ReplicationError.malformed("tracker offset 32768 mm beyond ±32 m")) { try EntityState.decodeKeyframe(&far) }
    }
}

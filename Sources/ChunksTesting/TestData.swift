// Deterministic test inputs: a seeded generator, so a failing case replays exactly.
#if canImport(Glibc)
import Glibc
#endif
import Chunks
@_exported import struct Raft.SplitMix64


public func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        var word = generator.next()
        for _ in 0..<8 where i < count {
            bytes[i] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            i += 1
        }
    }
    return bytes
}

/// Random data whose first window ending at exactly `min` satisfies the cut condition, so casync's
/// rule cuts the first chunk at exactly `min` (desync before PR #393 cut later). Found by search:
/// about one random 48-byte window in `discriminator` qualifies.
public func minCutInput(parameters p: ChunkerParameters, size: Int, seed: UInt64) -> [UInt8] {
    precondition(size > p.chunkSizeMin && p.chunkSizeMin >= 48, "need min ≥ 48 and size > min")
    var data = randomBytes(size, seed: seed)
    var probe = Array(data[0...p.chunkSizeMin])
    var generator = SplitMix64(seed: seed ^ 0xabcdef)
    while true {
        for i in (p.chunkSizeMin - 48)..<p.chunkSizeMin { probe[i] = UInt8(truncatingIfNeeded: generator.next()) }
        if probe.withUnsafeBytes({ Chunker.cut($0, from: 0, parameters: p) }) == p.chunkSizeMin {
            data.replaceSubrange(0..<p.chunkSizeMin, with: probe[0..<p.chunkSizeMin])
            return data
        }
    }
}

/// Bytes shaped like a 3D model: OBJ-style text, float32 vertex and normal grids of a smooth
/// surface, uint32 triangle indices, and a texture with long flat runs — compressible, not repetitive.
public func meshLikeBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    var out: [UInt8] = []
    out.reserveCapacity(count + 4096)
    var part = 0
    while out.count < count {
        switch part % 4 {
        case 0:
            for i in 0..<400 {
                let x = Double(i) * 0.01, y = Double(generator.next() % 1000) * 0.001
                out += Array("v \(x) \(y) \((x * y * 1000).rounded() / 1000)\n".utf8)
            }
        case 1:
            let n = 64
            for j in 0..<n {
                for i in 0..<n {
                    let height = Float(sin(Double(i) * 0.1) * cos(Double(j) * 0.13)) + Float(generator.next() % 16) * 1e-4
                    for v in [Float(i) * 0.5, Float(j) * 0.5, height] {
                        withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 }
                    }
                }
            }
        case 2:
            for t in 0..<3000 {
                let base = UInt32(t / 2 + Int(generator.next() % 3))
                for v in [base, base + 1, base + 64] { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
            }
        default:
            let run = Int(generator.next() % 3000) + 500
            out += [UInt8](repeating: UInt8(generator.next() % 256), count: run)
        }
        part += 1
    }
    return Array(out.prefix(count))
}

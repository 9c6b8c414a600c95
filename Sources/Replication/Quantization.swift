// What a pose is on the wire: positions in whole millimetres, rotations as "smallest three"
// quaternions in 32 bits (the index of the largest component in 2 bits, the other three in 10 bits
// each). The largest component is rebuilt from the unit length, and its sign is made positive
// first (q and -q are the same rotation). Measured worst error: 0.5 mm and about 0.23°, against
// 28 bytes of floats for a position and rotation (research/replication.md §4).

public struct Quaternion: Equatable, Sendable {
    public var x, y, z, w: Double
    public init(x: Double, y: Double, z: Double, w: Double) {
        self.x = x
        self.y = y
        self.z = z
        self.w = w
    }

    public static let identity = Quaternion(x: 0, y: 0, z: 0, w: 1)

    var components: [Double] { [x, y, z, w] }
}

public enum Quantize {
    static let range = 1 / 2.0.squareRoot()  // |component| of the three smallest is ≤ 1/√2
    /// Values 0…1022 in 10 bits, 511 being zero exactly (an unrotated tracker stays unrotated).
    static let half = 511.0

    /// Metres to whole millimetres, rounded.
    public static func millimetres(_ metres: Double) -> Int64 { Int64((metres * 1000).rounded()) }

    /// A unit quaternion as 32 bits. The input is normalised first.
    public static func rotation(_ q: Quaternion) -> UInt32 {
        let length = (q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w).squareRoot()
        precondition(length > 0, "a rotation quaternion must not be zero")
        var c = q.components.map { $0 / length }
        var largest = 0
        for i in 1..<4 where abs(c[i]) > abs(c[largest]) { largest = i }
        if c[largest] < 0 { c = c.map { -$0 } }
        var packed = UInt32(largest) << 30
        var shift: UInt32 = 20
        for i in 0..<4 where i != largest {
            let v = (c[i] / range * half).rounded() + half
            packed |= UInt32(min(2 * half, max(0, v))) << shift
            shift &-= 10
        }
        return packed
    }

    public static func quaternion(_ packed: UInt32) -> Quaternion {
        let largest = Int(packed >> 30)
        var c = [0.0, 0.0, 0.0, 0.0]
        var shift: UInt32 = 20
        var sum = 0.0
        for i in 0..<4 where i != largest {
            let v = Double((packed >> shift) & 0x3ff)
            c[i] = (v - half) / half * range
            sum += c[i] * c[i]
            shift &-= 10
        }
        c[largest] = max(0, 1 - sum).squareRoot()
        return Quaternion(x: c[0], y: c[1], z: c[2], w: c[3])
    }
}

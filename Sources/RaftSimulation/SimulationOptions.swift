// What a simulation run does, and the fault mix its seed draws ("swarm testing": each seed picks
// its own probabilities, so some runs are calm and some are hostile in one particular way).

import Raft

public struct SimulationOptions: Sendable {
    public var seed: UInt64
    /// Time units (≈ milliseconds) with faults, then `quietTime` healed and fault-free (no
    /// partitions, crashes, churn, drops, duplicates or slow fsyncs), at the end of which the
    /// group must have a leader and must have committed since the faults stopped (liveness).
    public var faultTime = 20_000
    public var quietTime = 6_000
    public var clients = 3
    public var initialVoters = 3
    /// Record a human-readable trace (kura-sim --seed prints it).
    public var trace = false
    /// TEST ONLY: plant a known bug in every replica.
    public var plantedBug: RaftConfig.PlantedBug?
    /// TEST ONLY: serve reads from the local state machine of whichever replica is asked,
    /// without ReadIndex — stale reads that the linearizability check must catch.
    public var unsafeLocalReads = false

    public init(seed: UInt64) { self.seed = seed }
}

/// The seed's fault mix. Rates are per mille.
struct FaultProfile: Sendable, CustomStringConvertible {
    var drop: Int
    var duplicate: Int
    var delayMax: Int
    var fsyncMax: Int
    var slowFsync: Int
    var tornWrites: Bool
    /// Mean time between fault events.
    var faultInterval: Int
    var crashWeight: Int
    var partitionWeight: Int
    var churnWeight: Int
    var transferWeight: Int
    /// Compact the log after this many applied entries.
    var compactEvery: Int
    var appendBytesMax: Int
    var inflightMax: Int
    var chunkBytes: Int

    init(_ r: inout SimulationRandom) {
        drop = r.pick([0, 0, 10, 50, 150]) ?? 0
        duplicate = r.pick([0, 0, 10, 50]) ?? 0
        delayMax = r.pick([2, 10, 30, 60]) ?? 10
        fsyncMax = r.pick([0, 2, 10, 30]) ?? 2
        slowFsync = r.pick([0, 0, 5, 20]) ?? 0
        tornWrites = r.chance(700)
        faultInterval = r.pick([150, 400, 1_000]) ?? 400
        crashWeight = r.between(0, 3)
        partitionWeight = r.between(0, 3)
        churnWeight = r.between(0, 3)
        transferWeight = r.between(0, 1)
        compactEvery = r.pick([8, 32, 1_000]) ?? 32
        appendBytesMax = r.pick([64, 512, 8_192]) ?? 512
        inflightMax = r.pick([1, 4, 64]) ?? 4
        chunkBytes = r.pick([16, 128, 4_096]) ?? 128
    }

    var description: String {
        "drop=\(drop)‰ dup=\(duplicate)‰ delay≤\(delayMax) fsync≤\(fsyncMax) slow=\(slowFsync)‰ torn=\(tornWrites)"
            + " faults/\(faultInterval) crash:\(crashWeight) partition:\(partitionWeight) churn:\(churnWeight)"
            + " transfer:\(transferWeight) compact/\(compactEvery) append≤\(appendBytesMax)B"
            + " window=\(inflightMax) chunk=\(chunkBytes)B"
    }
}

import Linearizability
import Testing

/// Hand-written histories of the domain models, each with its expected verdict.
@Suite struct DomainModelTests {
    typealias Asset = AssetVersionModel
    typealias Authority = AuthorityModel

    /// Sequential and concurrent steps as data: `(process, input, output?)` pairs where an output
    /// of `nil` is an invoke and a value completes the process's operation.
    enum Step<M: Model> {
        case invoke(ProcessID, M.Input)
        case ok(ProcessID, M.Output)
        case info(ProcessID)
    }

    func linearizable<M: Model>(_ model: M, _ steps: [Step<M>]) throws -> Bool {
        var history = History<M>()
        for step in steps {
            switch step {
            case .invoke(let p, let input): try history.invoke(process: p, input)
            case .ok(let p, let output): try history.ok(process: p, output)
            case .info(let p): try history.info(process: p)
            }
        }
        return history.check(model).isLinearizable
    }

    func publish(_ version: Int, _ digest: Int) -> Asset.Input { .publish(asset: "a", version: version, digest: digest) }
    func current(_ version: Int, _ digest: Int) -> Asset.Output { .current(.init(version: version, digest: digest)) }

    @Test func assetVersions() throws {
        let m = Asset()
        // Sequential publishes and a get of the latest.
        #expect(try linearizable(m, [
            .invoke(1, publish(1, 10)), .ok(1, .accepted), .invoke(1, publish(2, 20)), .ok(1, .accepted),
            .invoke(2, .get(asset: "a")), .ok(2, current(2, 20)),
        ]))
        // Two different version 1s both accepted: a fork.
        #expect(try !linearizable(m, [
            .invoke(1, publish(1, 10)), .invoke(2, publish(1, 11)), .ok(1, .accepted), .ok(2, .accepted),
        ]))
        // A retry of the same publication is accepted and changes nothing.
        #expect(try linearizable(m, [
            .invoke(1, publish(1, 10)), .ok(1, .accepted), .invoke(1, publish(1, 10)), .ok(1, .accepted),
            .invoke(2, .get(asset: "a")), .ok(2, current(1, 10)),
        ]))
        // Skipping a version must be rejected; accepting it is a violation.
        #expect(try !linearizable(m, [.invoke(1, publish(2, 20)), .ok(1, .accepted)]))
        #expect(try linearizable(m, [.invoke(1, publish(2, 20)), .ok(1, .rejected)]))
        // A rejection must be justified: version 1 on an empty asset is acceptable.
        #expect(try !linearizable(m, [.invoke(1, publish(1, 10)), .ok(1, .rejected)]))
        // A get may not go back to an older version.
        #expect(try !linearizable(m, [
            .invoke(1, publish(1, 10)), .ok(1, .accepted), .invoke(1, publish(2, 20)), .ok(1, .accepted),
            .invoke(2, .get(asset: "a")), .ok(2, current(1, 10)),
        ]))
        // An unknown-outcome publish may show up later.
        #expect(try linearizable(m, [
            .invoke(1, publish(1, 10)), .info(1),
            .invoke(2, .get(asset: "a")), .ok(2, .current(nil)),
            .invoke(2, .get(asset: "a")), .ok(2, current(1, 10)),
        ]))
        // Assets are independent partitions.
        #expect(try !linearizable(m, [
            .invoke(1, publish(1, 10)), .ok(1, .accepted),
            .invoke(2, .get(asset: "b")), .ok(2, current(1, 10)),
        ]))
    }

    func transfer(_ epoch: Int, to owner: Int) -> Authority.Input {
        .transfer(entity: "e", expectedEpoch: epoch, newOwner: owner)
    }
    func update(by owner: Int, at epoch: Int) -> Authority.Input { .update(entity: "e", owner: owner, epoch: epoch) }
    func read(_ owner: Int?, _ epoch: Int) -> Authority.Output { .read(.init(owner: owner, epoch: epoch)) }

    @Test func authority() throws {
        let m = Authority()
        // Transfer, then fenced updates by the holder.
        #expect(try linearizable(m, [
            .invoke(1, transfer(0, to: 1)), .ok(1, .transferred),
            .invoke(1, update(by: 1, at: 1)), .ok(1, .accepted),
            .invoke(2, .read(entity: "e")), .ok(2, read(1, 1)),
        ]))
        // Two compare-and-transfers from the same epoch both succeed: split brain.
        #expect(try !linearizable(m, [
            .invoke(1, transfer(0, to: 1)), .invoke(2, transfer(0, to: 2)),
            .ok(1, .transferred), .ok(2, .transferred),
        ]))
        // An update from the revoked authority after the transfer completed must be refused.
        let revoked: [Step<Authority>] = [
            .invoke(1, transfer(0, to: 1)), .ok(1, .transferred),
            .invoke(2, transfer(1, to: 2)), .ok(2, .transferred),
            .invoke(1, update(by: 1, at: 1)),
        ]
        #expect(try !linearizable(m, revoked + [.ok(1, .accepted)]))
        #expect(try linearizable(m, revoked + [.ok(1, .refused)]))
        // Concurrent with the transfer, the old holder's update may go either way.
        let racing: [Step<Authority>] = [
            .invoke(1, transfer(0, to: 1)), .ok(1, .transferred),
            .invoke(2, transfer(1, to: 2)), .invoke(1, update(by: 1, at: 1)),
        ]
        #expect(try linearizable(m, racing + [.ok(1, .accepted), .ok(2, .transferred)]))
        #expect(try linearizable(m, racing + [.ok(1, .refused), .ok(2, .transferred)]))
        // A refusal must be justified, and epochs never go back.
        #expect(try !linearizable(m, [.invoke(1, transfer(0, to: 1)), .ok(1, .refused)]))
        #expect(try !linearizable(m, [
            .invoke(1, transfer(0, to: 1)), .ok(1, .transferred),
            .invoke(2, .read(entity: "e")), .ok(2, read(nil, 0)),
        ]))
        // A transfer with unknown outcome may have happened.
        #expect(try linearizable(m, [
            .invoke(1, transfer(0, to: 1)), .info(1),
            .invoke(2, .read(entity: "e")), .ok(2, read(1, 1)),
        ]))
    }
}

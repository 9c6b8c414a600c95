/// Authority over entities: who may update an entity, guarded by a fencing epoch.
///
/// Each entity is its own partition; its state is `Authority(owner, epoch)`, initially no owner at
/// epoch 0.
/// - `transfer(entity:expectedEpoch:newOwner:)` is a compare-and-transfer: iff `expectedEpoch`
///   equals the current epoch, `newOwner` becomes the owner and the epoch goes up by one
///   (**transferred**); otherwise it is **refused** and nothing changes.
/// - `update(entity:owner:epoch:)` is a fenced write by `owner`, which believes it holds the
///   authority at `epoch`. It is **accepted** iff both match the current authority and must be
///   **refused** otherwise — an update from a revoked authority (stale epoch) that is accepted is
///   a violation. Updates do not change the authority.
/// - `read(entity:)` returns the current `Authority`.
/// Every refusal must be justified, like every success. An unknown-outcome transfer may have
/// taken effect or not; unknown-outcome updates and reads constrain nothing.
package struct AuthorityModel: Model {
    package struct Authority: Hashable, Sendable {
        package var owner: Int?
        package var epoch: Int
        package init(owner: Int?, epoch: Int) {
            self.owner = owner
            self.epoch = epoch
        }
    }

    package enum Input: Hashable, Sendable {
        case transfer(entity: String, expectedEpoch: Int, newOwner: Int)
        case update(entity: String, owner: Int, epoch: Int)
        case read(entity: String)
    }

    package enum Output: Hashable, Sendable {
        /// A transfer took effect.
        case transferred
        /// An update was accepted.
        case accepted
        /// A transfer or update was refused.
        case refused
        case read(Authority)
    }

    package init() {}

    package var initialState: Authority { Authority(owner: nil, epoch: 0) }

    package func partition(_ input: Input) -> String {
        switch input {
        case .transfer(let entity, _, _), .update(let entity, _, _), .read(let entity): entity
        }
    }

    package func step(_ state: Authority, _ input: Input, _ output: Output?) -> Authority? {
        switch (input, output) {
        case (.transfer(_, let expected, let owner), nil),
            (.transfer(_, let expected, let owner), .transferred?):
            return expected == state.epoch ? Authority(owner: owner, epoch: state.epoch + 1) : nil
        case (.transfer(_, let expected, _), .refused?):
            return expected == state.epoch ? nil : state
        case (.update, nil), (.read, nil):
            return state
        case (.update(_, let owner, let epoch), .accepted?):
            return owner == state.owner && epoch == state.epoch ? state : nil
        case (.update(_, let owner, let epoch), .refused?):
            return owner == state.owner && epoch == state.epoch ? nil : state
        case (.read, .read(let seen)?):
            return seen == state ? state : nil
        default:
            return nil
        }
    }

    package func isReadOnly(_ input: Input) -> Bool {
        if case .transfer = input { return false }
        return true
    }

    package func describe(_ input: Input) -> String {
        switch input {
        case .transfer(let entity, let expected, let owner): "transfer \(entity) [\(expected),\(owner)]"
        case .update(let entity, let owner, let epoch): "update \(entity) [\(owner),\(epoch)]"
        case .read(let entity): "read \(entity)"
        }
    }

    package func describe(_ output: Output) -> String {
        switch output {
        case .transferred: "transferred"
        case .accepted: "accepted"
        case .refused: "refused"
        case .read(let authority): "[\(show(authority.owner)),\(authority.epoch)]"
        }
    }

    package func describe(partition: String) -> String { "entity \"\(partition)\"" }
}

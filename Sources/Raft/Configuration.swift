// The membership of the group: who votes and who only listens.

/// The voters and learners of the group. Both lists are kept sorted, so iterating over them is
/// deterministic (a `Set` would leak its per-process random order into messages).
public struct Configuration: Hashable, Sendable, CustomStringConvertible {
    public private(set) var voters: [ReplicaID]
    public private(set) var learners: [ReplicaID]

    public init(voters: [ReplicaID], learners: [ReplicaID] = []) {
        self.voters = voters.sorted()
        self.learners = learners.sorted()
        precondition(Set(self.voters).count == self.voters.count, "duplicate voter")
        precondition(Set(self.learners).count == self.learners.count, "duplicate learner")
        precondition(Set(self.voters).isDisjoint(with: self.learners), "a replica is a voter or a learner")
    }

    public static let empty = Configuration(voters: [])

    /// Every member, voters first, each list in id order.
    public var members: [ReplicaID] { voters + learners }
    public var quorum: Int { voters.count / 2 + 1 }
    public func isVoter(_ id: ReplicaID) -> Bool { voters.contains(id) }
    public func isLearner(_ id: ReplicaID) -> Bool { learners.contains(id) }
    public func contains(_ id: ReplicaID) -> Bool { isVoter(id) || isLearner(id) }

    /// The configuration after `change`, or why the change is not allowed.
    public func applying(_ change: ConfigurationChange) -> Result<Configuration, ConfigurationError> {
        var next = self
        switch change {
        case .addVoter(let id):
            guard !contains(id) else { return .failure(.alreadyMember(id)) }
            next.voters = (voters + [id]).sorted()
        case .addLearner(let id):
            guard !contains(id) else { return .failure(.alreadyMember(id)) }
            next.learners = (learners + [id]).sorted()
        case .promote(let id):
            guard isLearner(id) else { return .failure(.notLearner(id)) }
            next.learners.removeAll { $0 == id }
            next.voters = (voters + [id]).sorted()
        case .remove(let id):
            guard contains(id) else { return .failure(.notMember(id)) }
            if isVoter(id) && voters.count == 1 { return .failure(.lastVoter(id)) }
            next.voters.removeAll { $0 == id }
            next.learners.removeAll { $0 == id }
        }
        return .success(next)
    }

    public var description: String {
        let v = voters.map(\.description).joined(separator: " ")
        if learners.isEmpty { return "voters=(\(v))" }
        return "voters=(\(v)) learners=(\(learners.map(\.description).joined(separator: " ")))"
    }
}

/// Why a membership change was refused.
public enum ConfigurationError: Error, Hashable, Sendable {
    case alreadyMember(ReplicaID)
    case notMember(ReplicaID)
    case notLearner(ReplicaID)
    /// Removing the only voter would leave a group that can never elect a leader.
    case lastVoter(ReplicaID)
}

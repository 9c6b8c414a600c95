/// The version map of assets: per asset, the current version and the digest of its index.
///
/// Each asset is its own partition; its state is the current `AssetVersion`, `nil` before the
/// first publication. The rule is monotone, one step at a time:
/// - `publish(asset:version:digest:)` is **accepted** iff `version == current.version + 1`
///   (the first version is 1) — the new pair becomes current — or iff `(version, digest)` *is*
///   the current pair (an idempotent retry of the same publication: accepted, nothing changes).
///   Otherwise it is **rejected** and nothing changes. A rejection must be justified: a publish
///   reported rejected while it would have been accepted is a violation, like the reverse.
/// - `get(asset:)` returns the current pair (`nil`: never published).
/// An unknown-outcome publish may have been accepted or never applied.
package struct AssetVersionModel: Model {
    package struct AssetVersion: Hashable, Sendable {
        package var version: Int
        package var digest: Int
        package init(version: Int, digest: Int) {
            self.version = version
            self.digest = digest
        }
    }

    package enum Input: Hashable, Sendable {
        case publish(asset: String, version: Int, digest: Int)
        case get(asset: String)
    }

    package enum Output: Hashable, Sendable {
        case accepted
        case rejected
        case current(AssetVersion?)
    }

    package init() {}

    package var initialState: AssetVersion? { nil }

    package func partition(_ input: Input) -> String {
        switch input {
        case .publish(let asset, _, _), .get(let asset): asset
        }
    }

    package func step(_ state: AssetVersion?, _ input: Input, _ output: Output?) -> AssetVersion?? {
        switch (input, output) {
        case (.publish(_, let version, let digest), nil),
            (.publish(_, let version, let digest), .accepted?):
            let next = AssetVersion(version: version, digest: digest)
            if next == state { return .some(state) }
            return version == (state?.version ?? 0) + 1 ? .some(next) : nil
        case (.publish(_, let version, let digest), .rejected?):
            let next = AssetVersion(version: version, digest: digest)
            let acceptable = next == state || version == (state?.version ?? 0) + 1
            return acceptable ? nil : .some(state)
        case (.get, nil):
            return .some(state)
        case (.get, .current(let seen)?):
            return seen == state ? .some(state) : nil
        case (.publish, .current?), (.get, .accepted?), (.get, .rejected?):
            return nil
        }
    }

    package func isReadOnly(_ input: Input) -> Bool {
        if case .get = input { return true }
        return false
    }

    package func describe(_ input: Input) -> String {
        switch input {
        case .publish(let asset, let version, let digest): "publish \(asset) [\(version),\(digest)]"
        case .get(let asset): "get \(asset)"
        }
    }

    package func describe(_ output: Output) -> String {
        switch output {
        case .accepted: "accepted"
        case .rejected: "rejected"
        case .current(let current?): "[\(current.version),\(current.digest)]"
        case .current(nil): "null"
        }
    }

    package func describe(partition: String) -> String { "asset \"\(partition)\"" }
}

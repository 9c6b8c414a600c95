/// A key-value store of integer registers: `read`, `write`, and compare-and-set, per key.
///
/// Each key is its own partition; its state is the key's value, `nil` while absent.
/// - `read(key:)` returns the current value (`nil`: absent).
/// - `write(key:_:)` sets the value; writing `nil` deletes the key.
/// - `cas(key:old:new:)` sets `new` if the value is `old` (`nil` matches an absent key). It is
///   recorded `ok` only when it took effect; a refused cas is a `fail` and dropped from the history.
package struct KVModel: Model {
    package enum Input: Hashable, Sendable {
        case read(key: String)
        case write(key: String, Int?)
        case cas(key: String, old: Int?, new: Int?)
    }

    package enum Output: Hashable, Sendable {
        /// A read returned this value (`nil`: absent).
        case read(Int?)
        /// A write or cas took effect.
        case written
    }

    package init() {}

    package var initialState: Int? { nil }

    package func partition(_ input: Input) -> String {
        switch input {
        case .read(let key), .write(let key, _), .cas(let key, _, _): key
        }
    }

    package func step(_ state: Int?, _ input: Input, _ output: Output?) -> Int?? {
        switch (input, output) {
        case (.read, nil):
            return .some(state)
        case (.read, .read(let seen)?):
            return seen == state ? .some(state) : nil
        case (.write(_, let value), nil), (.write(_, let value), .written?):
            return .some(value)
        case (.cas(_, let old, let new), nil), (.cas(_, let old, let new), .written?):
            return old == state ? .some(new) : nil
        case (.read, .written?), (.write, .read?), (.cas, .read?):
            return nil
        }
    }

    package func isReadOnly(_ input: Input) -> Bool {
        if case .read = input { return true }
        return false
    }

    package func describe(_ input: Input) -> String {
        switch input {
        case .read(let key): "read \(key)"
        case .write(let key, let value): "write \(key) \(show(value))"
        case .cas(let key, let old, let new): "cas \(key) [\(show(old)),\(show(new))]"
        }
    }

    package func describe(_ output: Output) -> String {
        switch output {
        case .read(let value): show(value)
        case .written: "ok"
        }
    }

    package func describe(partition: String) -> String { "key \"\(partition)\"" }
}

/// An optional integer as the JSON-lines format writes it.
func show(_ value: Int?) -> String { value.map(String.init) ?? "null" }

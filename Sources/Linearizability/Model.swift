/// The sequential specification of an object whose concurrent histories we check.
///
/// A model describes **one partition** of the object (P-compositionality, Horn & Kroening 2015):
/// `partition(_:)` names the independent part an operation touches (a key, an asset, an entity),
/// the checker splits the history by it, and checks each sub-history against `initialState`
/// separately. A model with a single partition returns the same key for every input.
///
/// `step` is the specification: from `state`, does the operation `input` with result `output`
/// make sense, and which state follows? `nil` means "impossible here".
///
/// **Unknown results.** An operation whose outcome is unknown (`info`, or never completed) is
/// passed with `output == nil`, meaning "it took effect, result unknown". The checker separately
/// considers that it never took effect (it may leave any unknown operation out of the
/// linearization), so `step(state, input, nil)` must return the state the operation leads to if it
/// *did* change something, or `nil` if from `state` it could only have been refused or had no
/// effect. Models must be deterministic: an operation that took effect from a given state leads to
/// exactly one state.
package protocol Model: Sendable {
    associatedtype State: Hashable
    associatedtype Input: Hashable & Sendable
    associatedtype Output: Hashable & Sendable
    associatedtype PartitionKey: Hashable & Sendable

    /// The state of one partition before any operation.
    var initialState: State { get }

    /// The independent part of the object `input` touches.
    func partition(_ input: Input) -> PartitionKey

    /// The sequential specification; see the type's documentation for `output == nil`.
    func step(_ state: State, _ input: Input, _ output: Output?) -> State?

    /// True if the operation never changes the state (a read). An unknown-outcome read constrains
    /// nothing, so the checker drops it; the window search may drop completed reads too.
    func isReadOnly(_ input: Input) -> Bool

    /// A short human-readable form such as `write k1 3`, used when printing a window.
    func describe(_ input: Input) -> String

    /// A short human-readable form of a result such as `3` or `absent`.
    func describe(_ output: Output) -> String

    /// A human-readable name of a partition, such as `key "k1"`.
    func describe(partition: PartitionKey) -> String
}

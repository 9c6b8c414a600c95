// A secondary index as the table's state sees it: a hash or an ordered index behind one switch,
// with the steps of a write spelled out so that a write touching several indexes can request
// every index's lines first and update them after (see `TableState.moveEntries`).
//
// Hot paths call only `mutating` methods on `indexes[i]`: a call to a non-mutating method through
// Array's getter copies the whole index first (a retain and a release per array inside it,
// measured with callgrind). That is why methods that only read are marked `mutating` here.

struct SecondaryIndex<Row: TableRecord>: Sendable {
    let spec: IndexSpec<Row>
    var hash = HashIndex()
    var ordered = OrderedIndex<Row.Key>()

    /// Adds the entry; returns true when a hash index asks its caller to `promoteHeavy` the value.
    /// `leafGuess`: the rank `prepareLeaves` found for `value` in an ordered index, or -1.
    @inline(__always)
    /// `hashOfValue`: a hash index's `hash(value)`, or .max when the caller has not computed it.
    mutating func add(_ value: IndexValue, _ key: Row.Key, _ slot: Int32, leafGuess: Int = -1, hashOfValue: UInt64 = .max) -> Bool {
        switch spec.kind {
        case .hash: return hash.insert(value, slot, hash: hashOfValue)
        case .ordered:
            ordered.insert(value, key, slot, leafGuess: leafGuess)
            return false
        }
    }

    @inline(__always)
    mutating func remove(_ value: IndexValue, _ key: Row.Key, _ slot: Int32, leafGuess: Int = -1, hashOfValue: UInt64 = .max) {
        switch spec.kind {
        case .hash: hash.remove(value, slot, hash: hashOfValue)
        case .ordered:
            let removed = ordered.remove(value, key, leafGuess: leafGuess)
            precondition(removed, "ordered index \(spec.name) lacks (\(value), \(key))")
        }
    }

    /// Starts loading a hash index's word for `value` while the write still waits for its record
    /// (the value comes from the new record). An ordered index's leaf could be found and requested
    /// here too, but that measured no faster and would cost every upsert that moves nothing.
    @inline(__always)
    mutating func prefetchAhead(_ value: IndexValue) {
        if spec.kind == .hash { hash.prefetchRun(value) }
    }

    /// The first step of moving an entry: a hash index starts loading both values' words; an
    /// ordered index starts loading the top-level blocks its searches read. Nothing here waits.
    @inline(__always)
    mutating func prepare(_ move: inout IndexMove) {
        switch spec.kind {
        case .hash:
            move.beforeHash = hash.hash(move.before)
            move.afterHash = hash.hash(move.after)
            hash.prefetchRun(hash: move.beforeHash)
            hash.prefetchRun(hash: move.afterHash)
        case .ordered:
            move.beforeSample = ordered.prefetchTop(ordered.hint(move.before))
            move.afterSample = ordered.prefetchTop(ordered.hint(move.after))
        }
    }

    /// The second step, once those lines have had time to arrive: a hash index reads both words
    /// and starts loading both values' slot lists; an ordered index searches its blocks and
    /// starts loading the leaves, keeping their ranks in `move` so the update need not search again.
    /// (`move` is inout to be reached in place: copying an `IndexValue` costs a call.)
    @inline(__always)
    mutating func prepareLeaves(_ move: inout IndexMove) {
        switch spec.kind {
        case .hash:
            hash.prefetchList(hash: move.beforeHash)
            hash.prefetchList(hash: move.afterHash)
        case .ordered:
            move.beforeLeaf = ordered.prefetchLeaf(of: move.before, sample: move.beforeSample)
            move.afterLeaf = ordered.prefetchLeaf(of: move.after, sample: move.afterSample)
        }
    }

    /// Hands every candidate slot of `value` (a hash index) to `prefetch`, then to `visit` until
    /// it returns false; returns false if it stopped.
    @inline(__always)
    mutating func visitCandidates(_ value: IndexValue, prefetch: (Int32) -> Void, visit: (Int32) -> Bool) -> Bool {
        _ = hash.forEachCandidate(value) { prefetch($0); return true }
        return hash.forEachCandidate(value, visit)
    }

    /// Some live-or-expired slot holding `value`, if any (used for unique checks); `holds` tells
    /// whether a slot's record has the value (hash candidates are only probable).
    mutating func holder(of value: IndexValue, _ holds: (Int32) -> Bool) -> Int32? {
        switch spec.kind {
        case .hash:
            var found: Int32?
            _ = hash.forEachCandidate(value) { slot in
                if holds(slot) { found = slot }
                return found == nil
            }
            return found
        case .ordered:
            let found = ordered.entry(at: ordered.partitionPoint(hint: ordered.hint(value)) { !($0.value < value) })
            return found?.value == value ? found?.slot : nil
        }
    }
}

/// One index's part of a rewrite: the entry moves from `before` to `after`.
struct IndexMove {
    var index: Int
    var before: IndexValue
    var after: IndexValue
    /// Ordered indexes: the top-level samples and leaf ranks found for each value (-1: none yet).
    var beforeSample = -1
    var afterSample = -1
    var beforeLeaf = -1
    var afterLeaf = -1
    /// Hash indexes: each value's hash (.max: not computed yet).
    var beforeHash = UInt64.max
    var afterHash = UInt64.max
}

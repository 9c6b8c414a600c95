// The replica's read-only view of stable storage (etcd's `Storage`). The application writes to
// storage (following the Ready contract); the replica only reads.

/// Expected failures of a storage read. Anything else (an IO error) is fatal by design: a replica
/// whose storage fails must stop, and the shell must not hide that.
public enum RaftLogError: Error, Hashable, Sendable {
    /// The requested index lies before the first retained entry (it is inside the snapshot).
    case compacted
    /// The snapshot is being produced; ask again later.
    case unavailable
}

/// Stable storage as seen by a `Replica`. Implementations must be deterministic.
///
/// Indexes: entries `firstIndex...lastIndex` are retained; `firstIndex - 1` is the compaction
/// point, whose term is still known (`term(at:)` answers for it). An empty log has
/// `lastIndex == firstIndex - 1`.
public protocol RaftLogReader: Sendable {
    /// The hard state last persisted.
    var hardState: HardState { get }
    var firstIndex: LogIndex { get }
    var lastIndex: LogIndex { get }
    /// The term of the entry at `index`, for `firstIndex - 1 ... lastIndex`.
    /// - Throws: `.compacted` below `firstIndex - 1`. Precondition: `index <= lastIndex`.
    func term(at index: LogIndex) throws(RaftLogError) -> Term
    /// Entries in the half-open range `range`, at most `bytesMax` of them by `Entry.byteCount`
    /// but always at least one. The range lies within `firstIndex...lastIndex + 1`.
    /// - Throws: `.compacted` if `range.lowerBound < firstIndex`.
    func entries(_ range: Range<LogIndex>, bytesMax: Int) throws(RaftLogError) -> [Entry]
    /// The latest snapshot; its index is at least `firstIndex - 1`. The bootstrap snapshot of a
    /// group (or an empty one at index 0 for a replica that is joining) counts.
    /// - Throws: `.unavailable` while one is being made.
    func snapshot() throws(RaftLogError) -> Snapshot
}

/// The in-memory reference implementation of `RaftLogReader`, with the writes the application
/// performs when it handles a `Ready`. It is the executable statement of the storage contract.
public struct MemoryRaftLog: RaftLogReader {
    public private(set) var hardState: HardState
    private var latestSnapshot: Snapshot
    /// Index and term of the entry just before `entries` (the compaction point).
    private var offset: LogIndex
    private var offsetTerm: Term
    private var stored: [Entry] = []

    /// The log of a replica that joins an existing group: empty, no configuration; the leader
    /// will send it a snapshot.
    public init() {
        self.init(snapshot: Snapshot(metadata: .init(index: 0, term: 0, configuration: .empty), data: []),
                  hardState: HardState())
    }

    /// The log of a founding member: a snapshot at index 1, term 1 holding the initial
    /// configuration and the state machine's initial image. Index 1 (not 0) makes a replica that
    /// joins later (whose log is empty) receive this snapshot, so it learns the configuration.
    public init(bootstrap configuration: Configuration, data: [UInt8] = []) {
        let metadata = SnapshotMetadata(index: 1, term: 1, configuration: configuration)
        self.init(snapshot: Snapshot(metadata: metadata, data: data), hardState: HardState(term: 1, commit: 1))
    }

    public init(snapshot: Snapshot, hardState: HardState, entries: [Entry] = []) {
        self.latestSnapshot = snapshot
        self.hardState = hardState
        self.offset = snapshot.metadata.index
        self.offsetTerm = snapshot.metadata.term
        self.stored = []
        append(entries)
    }

    public var firstIndex: LogIndex { offset.next }
    public var lastIndex: LogIndex { offset.advanced(by: stored.count) }

    public func term(at index: LogIndex) throws(RaftLogError) -> Term {
        precondition(index <= lastIndex, "term(at: \(index)) beyond last index \(lastIndex)")
        if index < offset { throw .compacted }
        if index == offset { return offsetTerm }
        return stored[offset.distance(to: index) - 1].term
    }

    public func entries(_ range: Range<LogIndex>, bytesMax: Int) throws(RaftLogError) -> [Entry] {
        if range.lowerBound < firstIndex { throw .compacted }
        precondition(range.upperBound <= lastIndex.next, "entries beyond last index")
        var out: [Entry] = []
        var bytes = 0
        for index in range {
            let entry = stored[offset.distance(to: index) - 1]
            bytes += entry.byteCount
            if !out.isEmpty && bytes > bytesMax { break }
            out.append(entry)
        }
        return out
    }

    public func snapshot() throws(RaftLogError) -> Snapshot { latestSnapshot }

    /// All retained entries (for inspection and for simulated disks).
    public var allEntries: [Entry] { stored }

    // MARK: writes, done by the application while handling a Ready

    public mutating func setHardState(_ state: HardState) { hardState = state }

    /// Appends `entries` (consecutive), first truncating every stored entry at or after
    /// `entries.first.index`. Entries at or before the compaction point are ignored.
    public mutating func append(_ entries: [Entry]) {
        let fresh = entries.drop { $0.index <= offset }
        guard let first = fresh.first else { return }
        precondition(first.index <= lastIndex.next, "gap: appending \(first.index) after \(lastIndex)")
        stored.removeSubrange((offset.distance(to: first.index) - 1)...)
        for (i, entry) in fresh.enumerated() {
            precondition(entry.index == first.index.advanced(by: i), "entries not consecutive")
            stored.append(entry)
        }
    }

    /// Installs a snapshot received from the leader: the whole log is replaced (as etcd's
    /// MemoryStorage does). The replica only restores from a snapshot when its own view of the log
    /// does not match it; keeping a stored tail here would resurrect entries the replica has already
    /// truncated in memory (and configuration entries it never recorded).
    public mutating func apply(_ snapshot: Snapshot) {
        let metadata = snapshot.metadata
        precondition(metadata.index >= latestSnapshot.metadata.index, "snapshot older than current")
        stored = []
        latestSnapshot = snapshot
        offset = metadata.index
        offsetTerm = metadata.term
    }

    /// Records a snapshot the state machine made of itself at `metadata.index` (which must be
    /// applied, hence stored). Does not compact: call `compact(through:)` for that.
    public mutating func createSnapshot(_ snapshot: Snapshot) {
        let index = snapshot.metadata.index
        precondition(index >= latestSnapshot.metadata.index, "snapshot older than current")
        precondition(index <= lastIndex && index >= offset, "snapshot index outside the log")
        precondition((try? term(at: index)) == snapshot.metadata.term, "snapshot term disagrees with log")
        latestSnapshot = snapshot
    }

    /// Discards entries up to and including `index`, which must be covered by the snapshot.
    public mutating func compact(through index: LogIndex) {
        guard index > offset else { return }
        precondition(index <= latestSnapshot.metadata.index, "compacting past the snapshot")
        let newTerm = stored[offset.distance(to: index) - 1].term
        stored.removeFirst(offset.distance(to: index))
        offset = index
        offsetTerm = newTerm
    }
}

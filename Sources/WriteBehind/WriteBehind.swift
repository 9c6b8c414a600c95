// The write-behind shell: reads a table's change feed into a `FlushPlanner`, runs the batches it
// plans against a `FlushSink`, and acknowledges what was stored (`Table.markFlushed`), so the
// table may evict those records. `run()` is the service: it returns after `shutdown` once
// everything written before it is stored, or its drain time is up.
import Locks
import Tables

public struct SyncReport: Sendable, Equatable {
    /// Feed position the sync covered: every change up to it.
    public var position: UInt64
    /// Records up to `position` the store refused; they stay dirty in the table and are retried.
    public var refused: Int
    /// False when write-behind stopped before everything up to `position` was stored.
    public var complete: Bool

    public init(position: UInt64, refused: Int, complete: Bool) {
        self.position = position
        self.refused = refused
        self.complete = complete
    }
}

public final class WriteBehind<Row: TableRecord, Sink: FlushSink>: Sendable
where Sink.Key == Row.Key, Sink.Row == Row {
    struct State: Sendable {
        var planner: FlushPlanner<Row.Key, Row>
        var position: UInt64 = 0
        var started = false
        var stopped = false
        var syncs: [(position: UInt64, waiter: CheckedContinuation<SyncReport, Never>)] = []
        var drainUntil: Int64?
        var drainThrough: UInt64 = 0
        var resyncs = 0
    }

    public let table: Table<Row>
    let sink: Sink
    let state: SanitizedMutex<State>
    let nudge = Nudge()
    let start = ContinuousClock.now
    /// Changes taken from the feed per read, and reads per turn of the loop.
    let feedBatch = 4096

    public init(table: Table<Row>, sink: Sink, options: FlushOptions = FlushOptions()) {
        self.table = table
        self.sink = sink
        self.state = SanitizedMutex(State(planner: FlushPlanner(options: options)))
    }

    public var stats: FlushStats { state.withLock { $0.planner.stats } }
    /// Times write-behind fell behind the feed and started again from a snapshot's dirty records.
    public var resyncs: Int { state.withLock { $0.resyncs } }

    /// Returns once everything written to the table before the call is stored (or refused, or
    /// write-behind stopped). It hurries those changes: they do not wait out `delay`.
    public func sync() async -> SyncReport {
        let target = table.position
        let report: SyncReport = await withCheckedContinuation { waiter in
            let stopped = state.withLock { s in
                if s.stopped { return true }
                s.planner.hurry(through: target)
                s.syncs.append((target, waiter))
                return false
            }
            if stopped {
                waiter.resume(returning: SyncReport(position: target, refused: 0, complete: false))
            } else {
                nudge.signal()
            }
        }
        return report
    }

    /// Asks `run()` to store everything written so far and return, waiting at most `drain`.
    public func shutdown(drain: Duration = .seconds(30)) {
        let target = table.position
        let deadline = now().addingClamped(drain)
        state.withLock { s in
            s.drainUntil = min(s.drainUntil ?? deadline, deadline)
            s.drainThrough = max(s.drainThrough, target)
            s.planner.hurry(through: target)
        }
        nudge.signal()
    }

    func now() -> Int64 {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Reads the feed into the planner while it wants changes. A reader that fell behind the
    /// feed's ring starts again from the dirty records of a snapshot, as on the first turn.
    func pull(now: Int64) {
        state.withLock { s in
            if !s.started {
                s.started = true
                resync(&s, now: now)
            }
            for _ in 0..<8 where s.planner.wantsChanges {
                switch table.changes(after: s.position, limit: min(feedBatch, s.planner.room)) {
                case .resync:
                    s.resyncs += 1
                    resync(&s, now: now)
                case .changes(let changes):
                    guard let last = changes.last else { return }
                    for change in changes { record(change, into: &s.planner, now: now) }
                    s.position = last.position
                }
            }
        }
    }

    /// Records every dirty record of a snapshot (however many: a resync may overshoot
    /// `maxPending`). Each stands for changes from the resumed position on, since those were
    /// lost: a sync through any of them waits for it.
    ///
    /// Not recovered: a delete or a sweep of a record in the lost span, which the snapshot no
    /// longer shows. A key write-behind still holds a version of is stored at that version (the
    /// table cannot tell a delete from an expiry then); a key already stored is left in the sink.
    func resync(_ s: inout State, now: Int64) {
        let snapshot = table.snapshot()
        let lostFrom = s.position + 1
        snapshot.forEachDirty { row, version in
            s.planner.record(row.key, version: version, row: row, firstVersion: lostFrom, now: now)
        }
        s.position = snapshot.position
    }

    func record(_ change: Change<Row>, into planner: inout FlushPlanner<Row.Key, Row>, now: Int64) {
        switch change.kind {
        case .insert, .update, .delete:
            planner.record(change.key, version: change.position, row: change.row, now: now)
        case .expire, .evict:
            // The record left memory, not the world: a version still waiting is stored anyway.
            break
        }
    }
}

// The loop of the write-behind service. Each turn: read the feed, start the batches the planner
// wants, answer syncs that are settled, then wait for one event — a batch landed, or the waiter
// woke (a change in the feed, the planner's next deadline, or a nudge from sync/shutdown).
import Locks
import Tables

extension WriteBehind {
    enum Event: Sendable {
        case landed(UInt64, FlushFailure?)
        case woke
    }

    /// Runs until `shutdown` and its drain, or until cancelled; then answers any sync still
    /// waiting as incomplete.
    public func run() async {
        await withTaskGroup(of: Event.self) { group in
            // The running waiter: the deadline it sleeps to and whether it watches the feed.
            var waiter: (wake: Int64?, feed: Bool)?
            // Cancellation stops at once, without the drain (`shutdown` is the graceful stop).
            while !Task.isCancelled {
                let now = now()
                pull(now: now)
                let (batches, wake, wantsChanges, done) = plan(now: now)
                if done { break }
                for batch in batches {
                    group.addTask { [sink] in
                        do throws(FlushFailure) {
                            try await sink.store(batch.items)
                            return .landed(batch.id, nil)
                        } catch {
                            return .landed(batch.id, error)
                        }
                    }
                }
                if let running = waiter {
                    // A waiter sleeping past a sooner deadline, or deaf to a feed now wanted, is
                    // woken to wait again.
                    if let wake, wake < (running.wake ?? .max) { nudge.signal() }
                    if wantsChanges && !running.feed { nudge.signal() }
                } else {
                    waiter = (wake, wantsChanges)
                    let position = state.withLock { $0.position }
                    group.addTask { [self] in
                        await waitForWork(after: wantsChanges ? position : nil, until: wake)
                        return .woke
                    }
                }
                switch await group.next() {
                case .landed(let id, let failure):
                    land(id, failure)
                case .woke:
                    waiter = nil
                case nil:
                    preconditionFailure("write-behind: the waiter is always running")
                }
            }
            group.cancelAll()
        }
        state.withLock { s in
            s.stopped = true
            for sync in s.syncs {
                sync.waiter.resume(returning: SyncReport(position: sync.position, refused: refused(s, through: sync.position), complete: false))
            }
            s.syncs = []
        }
    }

    /// One turn's decisions: batches to start, when to wake, whether to watch the feed, whether
    /// the drain is over.
    func plan(now: Int64) -> ([FlushBatch<Row.Key, Row>], Int64?, Bool, Bool) {
        state.withLock { s in
            let batches = s.planner.plan(now: now)
            answerSyncs(&s)
            var wake = s.planner.nextWake(now: now)
            var done = false
            if let until = s.drainUntil {
                let drained = s.planner.settled(through: s.drainThrough) && s.position >= s.drainThrough
                done = now >= until || drained
                wake = min(wake ?? until, until)
            }
            if done { s.stopped = true }
            return (batches, wake, s.planner.wantsChanges, done)
        }
    }

    func land(_ id: UInt64, _ failure: FlushFailure?) {
        let now = now()
        let stored: [FlushItem<Row.Key, Row>] = state.withLock { s in
            guard let failure else { return s.planner.stored(id, now: now) }
            s.planner.failed(id, failure, now: now)
            return []
        }
        if !stored.isEmpty { table.markFlushed(stored.map { ($0.key, $0.version) }) }
    }

    func answerSyncs(_ s: inout State) {
        guard !s.syncs.isEmpty else { return }
        var waiting: [(position: UInt64, waiter: CheckedContinuation<SyncReport, Never>)] = []
        for sync in s.syncs {
            if s.position >= sync.position && s.planner.settled(through: sync.position) {
                sync.waiter.resume(returning: SyncReport(position: sync.position, refused: refused(s, through: sync.position), complete: true))
            } else {
                waiting.append(sync)
            }
        }
        s.syncs = waiting
    }

    func refused(_ s: State, through position: UInt64) -> Int {
        s.planner.parkedItems.count { $0.version <= position }
    }

    /// Returns on the first of: a change after `position` (nil: changes are not wanted now), the
    /// instant `deadline` (nil: none), a nudge.
    func waitForWork(after position: UInt64?, until deadline: Int64?) async {
        await withTaskGroup(of: Void.self) { group in
            if let position { group.addTask { [table] in await table.waitForChanges(after: position) } }
            if let deadline {
                let delay = Duration.nanoseconds(max(0, deadline - now()))
                group.addTask { try? await Task.sleep(for: delay) }
            }
            group.addTask { [nudge] in await nudge.wait() }
            await group.next()
            group.cancelAll()
        }
    }
}

/// A one-slot wake-up: `signal` wakes the waiter, or the next `wait` if none is waiting.
final class Nudge: Sendable {
    struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    let state = SanitizedMutex(State())

    func signal() {
        state.withLock { s in
            if let waiter = s.waiter {
                s.waiter = nil
                waiter.resume()
            } else {
                s.signalled = true
            }
        }
    }

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let now: Bool = state.withLock { s in
                    if Task.isCancelled { return true }
                    if s.signalled {
                        s.signalled = false
                        return true
                    }
                    precondition(s.waiter == nil, "write-behind: two waiters for one nudge")
                    s.waiter = waiter
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            state.withLock { s in
                let waiter = s.waiter
                s.waiter = nil
                return waiter
            }?.resume()
        }
    }
}

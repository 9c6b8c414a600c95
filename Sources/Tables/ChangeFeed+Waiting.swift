// Waiting for the feed: a reader with nothing new suspends until the next commit instead of
// polling. Resuming only enqueues the reader's task, so it is done under the table's lock. Batches
// (not single changes) are what readers receive, so one wake-up serves many writes.

extension TableState {
    mutating func wakeFeedWaiters() {
        for waiter in feedWaiters.values { waiter.resume() }
        feedWaiters.removeAll()
    }
}

extension Table {
    /// Returns once the feed has a change after `position` (at once if it already has), or when
    /// the calling task is cancelled.
    public func waitForChanges(after position: UInt64) async {
        let ticket: Int? = state.withLock { s in
            guard s.feed.last <= position else { return nil }
            s.nextWaiterTicket += 1
            return s.nextWaiterTicket
        }
        guard let ticket else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let parked = state.withLock { s in
                    guard s.feed.last <= position && !Task.isCancelled else { return false }
                    s.feedWaiters[ticket] = waiter
                    return true
                }
                if !parked { waiter.resume() }
            }
        } onCancel: {
            state.withLock { s in s.feedWaiters.removeValue(forKey: ticket) }?.resume()
        }
    }

    /// The feed as an async sequence of batches after `position`: each element is what
    /// `changes(after:limit:)` returns, never empty; after a `.resync` the sequence ends and the
    /// reader starts again from a snapshot.
    public func changeBatches(after position: UInt64, limit: Int = 1024) -> ChangeBatches<Row> {
        ChangeBatches(table: self, position: position, limit: limit)
    }
}

public struct ChangeBatches<Row: TableRecord>: AsyncSequence, Sendable {
    public typealias Element = FeedRead<Row>
    let table: Table<Row>
    let position: UInt64
    let limit: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let table: Table<Row>
        var position: UInt64?
        let limit: Int

        public mutating func next() async -> FeedRead<Row>? {
            while let after = position, !Task.isCancelled {
                switch table.changes(after: after, limit: limit) {
                case .resync(let oldest):
                    position = nil
                    return .resync(oldest: oldest)
                case .changes(let batch) where !batch.isEmpty:
                    position = batch.last!.position
                    return .changes(batch)
                case .changes:
                    await table.waitForChanges(after: after)
                }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(table: table, position: position, limit: limit) }
}

// How batches end: stored (acknowledge them), failed for now (back off, retry whole) or refused
// (split until the refused records stand alone, park those). And the question a sync asks: is
// everything up to a version stored?

extension FlushPlanner {
    /// The store holds every record of batch `id`. Returns the versions to acknowledge to the table.
    public mutating func stored(_ id: UInt64, now: Int64) -> [FlushItem<Key, Row>] {
        guard let flight = flying.removeValue(forKey: id) else { preconditionFailure("write-behind: unknown batch \(id)") }
        for item in flight.items { release(item.key) }
        if flight.parked { stats.parked -= 1 }
        stats.stored += flight.items.count
        stats.batches += 1
        stats.inFlight = flying.count
        failuresInARow = 0
        backoffUntil = .min
        return flight.items
    }

    /// Batch `id` was not stored. Records already superseded by a newer version are dropped (the
    /// newer one will be stored); the rest wait for a retry.
    public mutating func failed(_ id: UInt64, _ failure: FlushFailure, now: Int64) {
        guard var flight = flying.removeValue(forKey: id) else { preconditionFailure("write-behind: unknown batch \(id)") }
        stats.inFlight = flying.count
        let sent = flight.items.count
        // The newer entry now also stands for the dropped version: a sync waiting on that
        // version waits on the newer one instead.
        var superseded: [Key] = []
        flight.items.removeAll { item in
            guard pending[item.key] != nil else { return false }
            pending[item.key]!.firstVersion = min(pending[item.key]!.firstVersion, reserved[item.key]!.first)
            superseded.append(item.key)
            return true
        }
        for key in superseded {
            release(key)
            if pending[key]!.firstVersion <= urgentThrough { promote(key) }
        }
        if flight.items.isEmpty {
            if flight.parked { stats.parked -= 1 }
            return
        }
        switch failure {
        case .transient(let why):
            failuresInARow += 1
            stats.transientFailures += 1
            stats.lastFailure = why
            backoffUntil = now.addingClamped(backoff())
            flight.due = backoffUntil
            retries.append(flight)
        case .refused(let why):
            stats.lastFailure = why
            if flight.items.count > 1 {
                // Bisect: the halves are retried at once, so a single bad record costs log2(batch) rounds.
                let half = flight.items.count / 2
                retries.append(Flight(items: Array(flight.items[..<half]), due: now, parked: false))
                retries.append(Flight(items: Array(flight.items[half...]), due: now, parked: false))
            } else if sent > 1 {
                // The refused record may be one just dropped as superseded: not this one's fault yet.
                retries.append(Flight(items: flight.items, due: now, parked: false))
            } else {
                if !flight.parked { stats.parked += 1 }
                flight.parked = true
                flight.due = now.addingClamped(options.retryCap)
                retries.append(flight)
            }
        }
    }

    /// True when every change up to `version` recorded so far is stored, or parked as refused.
    public func settled(through version: UInt64) -> Bool {
        if pending.values.contains(where: { $0.firstVersion <= version }) { return false }
        func waiting(_ flight: Flight) -> Bool { !flight.parked && flight.items.contains { reserved[$0.key]!.first <= version } }
        return !flying.values.contains(where: waiting) && !retries.contains(where: waiting)
    }

    /// Records refused by the store, waiting for their rare retry.
    public var parkedItems: [FlushItem<Key, Row>] {
        (retries + flying.values).filter(\.parked).flatMap(\.items)
    }

    /// The key's version is no longer being stored; a newer version held back for it may go.
    mutating func release(_ key: Key) {
        reserved[key] = nil
        if held.remove(key) != nil {
            pending[key]!.place = .front
            front.append(key)
        }
    }

    /// Drops the parked record of `key` waiting for its retry; returns the oldest change it
    /// stood for.
    mutating func unpark(_ key: Key) -> UInt64? {
        guard let index = retries.firstIndex(where: { $0.parked && $0.items[0].key == key }) else { return nil }
        retries.remove(at: index)
        let first = reserved.removeValue(forKey: key)!.first
        stats.parked -= 1
        return first
    }

    /// `retryBase` doubled per failure in a row, capped, times a jitter in [0.5, 1): replicas
    /// that lost the same database do not all come back at the same instant.
    mutating func backoff() -> Duration {
        let doublings = min(failuresInARow - 1, 30)
        let full = min(options.retryCap, options.retryBase * (1 << doublings))
        return full * (0.5 + Double(nextRandom() >> 11) / Double(1 << 54))
    }

    /// SplitMix64: the seed's stream, so a run is repeatable.
    mutating func nextRandom() -> UInt64 {
        random &+= 0x9e37_79b9_7f4a_7c15
        var z = random
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

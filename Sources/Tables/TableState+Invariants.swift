// A full consistency check of records against every index, for tests and debugging (O(n)).

extension TableState {
    func invariantViolations() -> [String] {
        var problems: [String] = []
        var live = 0
        var weight = 0
        var expiring = 0
        slab.forEach { slot, row, entry in
            live += 1
            weight += options.weigh(row)
            if entry.expiry != .max { expiring += 1 }
            if primary[row.key] != slot { problems.append("primary[\(row.key)] is not slot \(slot)") }
            if entry.version >= nextPosition { problems.append("\(row.key) has version \(entry.version) ≥ next \(nextPosition)") }
            for index in indexes {
                let value = index.spec.column.value(row)
                switch index.spec.kind {
                case .hash:
                    var found = false
                    var holders = 0
                    _ = index.hash.forEachCandidate(value) { candidate in
                        if candidate == slot { found = true }
                        if index.spec.column.value(slab.row(candidate)!) == value { holders += 1 }
                        return true
                    }
                    if !found { problems.append("hash index \(index.spec.name) lacks \(row.key)=\(value)") }
                    if index.spec.unique && holders > 1 {
                        problems.append("unique hash index \(index.spec.name) has \(holders) holders of \(value)")
                    }
                case .ordered:
                    let at = index.ordered.entry(at: index.ordered.position(of: value, row.key))
                    if at?.slot != slot { problems.append("ordered index \(index.spec.name) lacks \(row.key)=\(value)") }
                }
            }
        }
        if live != primary.count { problems.append("\(live) records, \(primary.count) primary keys") }
        if weight != bytes { problems.append("bytes \(bytes), records weigh \(weight)") }
        if expiring != expiringCount { problems.append("expiring count \(expiringCount), actual \(expiring)") }
        for index in indexes {
            switch index.spec.kind {
            case .hash:
                let total = index.hash.count
                if total != live { problems.append("hash index \(index.spec.name) holds \(total) of \(live)") }
            case .ordered:
                if index.ordered.count != live { problems.append("ordered index \(index.spec.name) holds \(index.ordered.count) of \(live)") }
                if !index.ordered.checkInvariants() { problems.append("ordered index \(index.spec.name) is malformed") }
            }
        }
        if feed.last + 1 != nextPosition && !inTransaction { problems.append("feed at \(feed.last), next position \(nextPosition)") }
        return problems
    }
}

extension Table {
    /// Every disagreement between records and indexes; empty when the table is consistent.
    /// Held-back index moves are applied first (reads apply them too).
    public func invariantViolations() -> [String] {
        state.withLock { s in
            s.settle()
            return s.invariantViolations()
        }
    }
}

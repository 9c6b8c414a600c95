// The planner and the executor. Access paths, best first: primary key → unique index → hash
// index → ordered index → full scan. One top-level conjunct is served by the path; the others are
// checked per record. When an ordered index yields the requested order, no sort happens and a
// limit stops the walk early.

enum AccessPath<Row: TableRecord> {
    case keys([Row.Key])
    case hash(index: Int, values: [IndexValue])
    /// Disjoint ranges in ascending order.
    case ordered(index: Int, ranges: [(lower: Bound?, upper: Bound?)], descending: Bool)
    case scan
}

struct PlannedQuery<Row: TableRecord> {
    var plan: QueryPlan
    var path: AccessPath<Row>
    var residual: [Predicate<Row>]
}

extension TableState {
    @inline(__always)
    func indexNumber(_ column: Column<Row>) -> Int? {
        for i in indexes.indices where indexes[i].spec.column.name == column.name { return i }
        return nil
    }

    func plan(_ query: Query<Row>) -> PlannedQuery<Row> {
        let conjuncts = query.filter?.conjuncts ?? []
        var best: (rank: Int, conjunct: Int, path: AccessPath<Row>)?
        for (i, conjunct) in conjuncts.enumerated() {
            guard let (rank, path) = accessPath(for: conjunct) else { continue }
            if best == nil || rank < best!.rank { best = (rank, i, path) }
        }
        var residual = conjuncts
        var path = AccessPath<Row>.scan
        if let best {
            residual.remove(at: best.conjunct)
            path = best.path
        } else if let column = query.order?.column, let i = indexNumber(column), indexes[i].spec.kind == .ordered {
            path = .ordered(index: i, ranges: [(nil, nil)], descending: false)
        }
        var sorts = query.order != nil
        if case .ordered(let i, let ranges, _) = path, let order = query.order, let column = order.column,
            indexes[i].spec.name == column.name
        {
            path = .ordered(index: i, ranges: ranges, descending: order.descending)
            sorts = false
        }
        let plan = QueryPlan(access: describe(path), residualFilters: residual.count, sorts: sorts,
                             limit: query.limit, offset: query.offset)
        return PlannedQuery(plan: plan, path: path, residual: residual)
    }

    // Internal rather than private: cross-module optimisation serialises (and so lets clients
    // specialise) only functions whose callees it can reach; a private callee left `plan` generic.
    func accessPath(for predicate: Predicate<Row>) -> (Int, AccessPath<Row>)? {
        switch predicate {
        case .key(let key): return (0, .keys([key]))
        case .keys(let keys): return (0, .keys(Array(Set(keys))))
        case .equal(let column, let value): return valuePath(column, [value])
        case .oneOf(let column, let values): return valuePath(column, Array(Set(values)).sorted())
        case .range(let column, let lower, let upper):
            guard let i = indexNumber(column), indexes[i].spec.kind == .ordered else { return nil }
            return (3, .ordered(index: i, ranges: [(lower, upper)], descending: false))
        case .test, .and, .or, .not: return nil
        }
    }

    func valuePath(_ column: Column<Row>, _ values: [IndexValue]) -> (Int, AccessPath<Row>)? {
        guard let i = indexNumber(column) else { return nil }
        let spec = indexes[i].spec
        switch spec.kind {
        case .hash: return (spec.unique ? 1 : 2, .hash(index: i, values: values))
        case .ordered:
            let ranges = values.map { (Bound($0, inclusive: true) as Bound?, Bound($0, inclusive: true) as Bound?) }
            return (spec.unique ? 1 : 3, .ordered(index: i, ranges: ranges, descending: false))
        }
    }

    func describe(_ path: AccessPath<Row>) -> QueryPlan.Access {
        switch path {
        case .keys(let keys): return .primaryKey(keys: keys.count)
        case .hash(let i, let values):
            let name = indexes[i].spec.name
            return indexes[i].spec.unique ? .uniqueIndex(name, values: values.count) : .hashIndex(name, values: values.count)
        case .ordered(let i, let ranges, let descending):
            let name = indexes[i].spec.name
            if indexes[i].spec.unique, ranges.allSatisfy({ $0.lower != nil && $0.lower == $0.upper }) {
                return .uniqueIndex(name, values: ranges.count)
            }
            return .orderedIndex(name, ranges: ranges.count, descending: descending)
        case .scan: return .scan
        }
    }

    // MARK: execution

    /// Visits the live records the path yields (a superset of the matches), until `visit` says stop.
    /// On a scan, `filter` is applied in the loop itself so rejected records cost no further call.
    mutating func candidates(_ path: AccessPath<Row>, now: Int64, filter: ((Row) -> Bool)? = nil, _ visit: (Int32, Row) -> Bool) {
        if case .ordered = path { settle() }  // `probe` settles for .hash
        switch path {
        case .keys(let keys):
            for key in keys {
                guard let slot = liveSlot(key, now: now) else { continue }
                if !visit(slot, slab[slot].row!) { return }
            }
        case .hash(let i, let values):
            for value in values where !probe(i, value, now: now, visit) { return }
        case .ordered(let i, let ranges, let descending):
            for range in descending ? ranges.reversed() : ranges {
                // One copy of the index per range (see `valueOf`), not per row.
                if !walk(indexes[i].ordered, range.lower, range.upper, descending, now, visit) { return }
            }
        case .scan:
            if let filter {
                scan(now: now) { slot, row in filter(row) ? visit(slot, row) : true }
            } else {
                scan(now: now, visit)
            }
        }
    }

    /// Bytes ahead of the scan's position that it requests (512 and 2048 measured slower).
    static var scanPrefetchDistance: Int { 1024 }

    /// Visits every live record in slot order. The loop is a plain walk over each chunk's
    /// contiguous rows; expiries are read only when some record can expire.
    @inline(__always)
    func scan(now: Int64, _ visit: (Int32, Row) -> Bool) {
        for (number, chunk) in slab.chunks.enumerated() {
            let base = number << Slab<Row>.chunkShift
            let going = chunk.withBuffers { rows, metas -> Bool in
                // The stream of rows is requested a kilobyte ahead: the hardware prefetcher alone
                // left the loop waiting on each line (measured: 13–16 → 8–10 ns a row, 1M rows).
                let ahead = UnsafeRawPointer(rows.baseAddress!) + Self.scanPrefetchDistance
                if now == .min {
                    for offset in rows.indices {
                        prefetch(ahead + offset &* MemoryLayout<Row?>.stride)
                        guard let row = rows[offset] else { continue }
                        if !visit(Int32(truncatingIfNeeded: base &+ offset), row) { return false }
                    }
                    return true
                }
                for offset in rows.indices {
                    prefetch(ahead + offset &* MemoryLayout<Row?>.stride)
                    guard let row = rows[offset], metas[offset].expiry > now else { continue }
                    if !visit(Int32(truncatingIfNeeded: base &+ offset), row) { return false }
                }
                return true
            }
            if !going { return }
        }
    }

    /// Starts loading the record in `slot` (and its expiry, when reads must check one).
    @inline(__always)
    func prefetchRecord(_ slot: Int32, now: Int64) {
        slab.prefetchRow(slot)
        if now != .min { slab.prefetchMeta(slot) }
    }

    /// Visits the live records holding `value` in hash index `i`; returns false if `visit` stopped.
    /// A first pass over the candidates prefetches every record, so their misses overlap.
    /// `mutating` only to reach the index in place (see `SecondaryIndex`).
    @inline(__always)
    mutating func probe(_ i: Int, _ value: IndexValue, now: Int64, _ visit: (Int32, Row) -> Bool) -> Bool {
        settle()
        let valueOf = reader(i)
        let slab = slab  // read by the closures while the index is accessed
        return indexes[i].visitCandidates(value) { slot in
            slab.prefetchRow(slot)
            if now != .min { slab.prefetchMeta(slot) }
        } visit: { slot in
            if now != .min && slab.expiry(slot) <= now { return true }
            let row = slab.row(slot)!
            return valueOf(row) == value ? visit(slot, row) : true  // the index holds hashes only
        }
    }

    /// Walks one range of an ordered index; returns false if `visit` stopped it.
    func walk(
        _ index: OrderedIndex<Row.Key>, _ lower: Bound?, _ upper: Bound?, _ descending: Bool, _ now: Int64,
        _ visit: (Int32, Row) -> Bool
    ) -> Bool {
        if descending {
            var going = true
            let end = upper.map { u in index.partitionPoint(hint: index.hint(u.value)) { u.inclusive ? u.value < $0.value : u.value <= $0.value } }
            index.forEachReversed(before: end ?? index.endPosition) { e in
                if let l = lower, l.inclusive ? e.value < l.value : e.value <= l.value { return false }
                if now == .min || slab.expiry(e.slot) > now { going = visit(e.slot, slab.row(e.slot)!) }
                return going
            }
            return going
        }
        let start = lower.map { l in index.partitionPoint(hint: index.hint(l.value)) { l.inclusive ? l.value <= $0.value : l.value < $0.value } }
        return walkForward(index, from: start ?? OrderedPosition(leaf: 0, offset: 0), upper, now, visit)
    }

    /// Visits entries from `start` up to `upper` in index order. Each entry's record is at a
    /// random slot: the records of the next leaf are prefetched before this leaf is visited, and
    /// the leaf after that is loaded meanwhile, so the walk always has up to a leaf of misses in
    /// flight and never waits on one at a time.
    func walkForward(
        _ index: OrderedIndex<Row.Key>, from start: OrderedPosition, _ upper: Bound?, _ now: Int64,
        _ visit: (Int32, Row) -> Bool
    ) -> Bool {
        // Entries whose word is above this one lie past `upper`: they are not prefetched.
        let last = upper.map { index.hint($0.value) } ?? .max
        let endRank = index.endRank
        var rank = start.leaf
        var offset = start.offset
        var next = rank < endRank ? index.nextLeaf(rank) : endRank
        if rank < endRank { prefetchRecords(index, index.leafRange(rank), from: offset, through: last, now: now) }
        if next < endRank { index.prefetchLeaf(rank: next) }
        while rank < endRank {
            let after = next < endRank ? index.nextLeaf(next) : endRank
            if next < endRank { prefetchRecords(index, index.leafRange(next), from: 0, through: last, now: now) }
            if after < endRank { index.prefetchLeaf(rank: after) }
            let range = index.leafRange(rank)
            let end = index.end(range, from: range.lowerBound + offset, before: upper)
            let complete = index.slots.withUnsafeBufferPointer { slots -> Bool? in
                var j = range.lowerBound + offset
                while j < end {
                    let s = slots[j]
                    j += 1
                    if now != .min && slab.expiry(s) <= now { continue }
                    if !visit(s, slab.row(s)!) { return nil }
                }
                return end == range.upperBound
            }
            guard complete == true else { return complete != nil }
            (rank, next) = (next, after)
            offset = 0
        }
        return true
    }

    /// Prefetches the records of the entries at pool positions `range` from `offset` on whose
    /// word is at most `last`.
    @inline(__always)
    func prefetchRecords(_ index: OrderedIndex<Row.Key>, _ range: Range<Int>, from offset: Int, through last: UInt64, now: Int64) {
        index.words.withUnsafeBufferPointer { words in
            index.slots.withUnsafeBufferPointer { slots in
                var j = range.lowerBound + offset
                while j < range.upperBound && words[j] <= last {
                    prefetchRecord(slots[j], now: now)
                    j += 1
                }
            }
        }
    }

    /// Runs `query`, handing each result to `visit` in order until it returns false.
    mutating func execute(_ query: Query<Row>, now: Int64, _ visit: (Row) -> Bool) throws(TableError) {
        // The common probe (one equality on a hash index, nothing else) skips planning.
        if query.order == nil && query.offset == 0 && query.limit == nil, case .equal(let column, let value)? = query.filter,
            let i = indexNumber(column), indexes[i].spec.kind == .hash
        {
            _ = probe(i, value, now: now) { _, row in visit(row) }
            return
        }
        let planned = plan(query)
        if query.requiresIndex && !planned.plan.usesIndex { throw .indexRequired(plan: planned.plan.description) }
        let filter = planned.residual.isEmpty ? nil : Predicate.and(planned.residual).compiled()
        let isScan = if case .scan = planned.path { true } else { false }
        let (scanFilter, indexFilter) = isScan ? (filter, nil) : (nil, filter)
        var skip = query.offset
        var remaining = query.limit ?? .max
        guard remaining > 0 else { return }
        if !planned.plan.sorts {
            if indexFilter == nil && skip == 0 && remaining == .max {  // the common case: no per-row bookkeeping
                candidates(planned.path, now: now, filter: scanFilter) { _, row in visit(row) }
                return
            }
            candidates(planned.path, now: now, filter: scanFilter) { _, row in
                if let filter = indexFilter, !filter(row) { return true }
                if skip > 0 {
                    skip -= 1
                    return true
                }
                remaining -= 1
                return visit(row) && remaining > 0
            }
            return
        }
        let order = query.order!
        var matches: [(value: IndexValue, row: Row)] = []
        candidates(planned.path, now: now, filter: scanFilter) { _, row in
            if let filter = indexFilter, !filter(row) { return true }
            matches.append((order.column?.value(row) ?? .null, row))
            return true
        }
        matches.sort { a, b in a.value < b.value || (a.value == b.value && a.row.key < b.row.key) }
        if order.descending { matches.reverse() }
        for match in matches.dropFirst(skip) {
            remaining -= 1
            if !visit(match.row) || remaining == 0 { return }
        }
    }
}

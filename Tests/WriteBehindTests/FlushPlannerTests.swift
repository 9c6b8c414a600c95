// The write-behind core, step by step: time is a number handed in, so every rule is checked at
// exact instants.
import Testing
import WriteBehind

typealias Planner = FlushPlanner<String, Int>
let ms: Int64 = 1_000_000

func planner(delay: Duration = .milliseconds(100), batchSize: Int = 500, maxInFlight: Int = 4, maxPending: Int = 1 << 20) -> Planner {
    Planner(options: FlushOptions(delay: delay, batchSize: batchSize, maxInFlight: maxInFlight, maxPending: maxPending,
                                  retryBase: .milliseconds(100), retryCap: .seconds(10)))
}

extension FlushBatch<String, Int> {
    var versions: [String: UInt64] { Dictionary(uniqueKeysWithValues: items.map { ($0.key, $0.version) }) }
}

@Suite struct FlushPlannerTests {
    @Test func changesToOneKeyWithinTheDelayAreStoredOnceAtTheNewest() {
        var p = planner()
        p.record("a", version: 1, row: 10, now: 0)
        p.record("a", version: 2, row: 20, now: 30 * ms)
        p.record("a", version: 3, row: 30, now: 60 * ms)
        #expect(p.plan(now: 99 * ms).isEmpty, "due 100 ms after the first change")
        let batches = p.plan(now: 100 * ms)
        #expect(batches.count == 1 && batches[0].items.count == 1)
        #expect(batches[0].items[0].version == 3 && batches[0].items[0].row == 30)
        #expect(p.stats.coalesced == 2)
        let acks = p.stored(batches[0].id, now: 101 * ms)
        #expect(acks.map(\.version) == [3])
        #expect(p.isIdle)
    }

    @Test func anOlderVersionIsIgnored() {
        var p = planner()
        p.record("a", version: 5, row: 50, now: 0)
        p.record("a", version: 4, row: 40, now: 0)
        #expect(p.plan(now: 100 * ms)[0].items[0].row == 50)
    }

    @Test func oneVersionOfAKeyInFlightAtATime() {
        var p = planner()
        p.record("a", version: 1, row: 1, now: 0)
        let first = p.plan(now: 100 * ms)
        p.record("a", version: 2, row: 2, now: 110 * ms)
        p.record("b", version: 3, row: 3, now: 110 * ms)
        let second = p.plan(now: 210 * ms)
        #expect(second.count == 1 && second[0].versions == ["b": 3], "a waits for version 1 to land")
        _ = p.stored(first[0].id, now: 220 * ms)
        let third = p.plan(now: 220 * ms)
        #expect(third.count == 1 && third[0].versions == ["a": 2])
    }

    @Test func batchesAreBoundedInSizeAndNumber() {
        var p = planner(batchSize: 3, maxInFlight: 2)
        for i in 1...10 { p.record("k\(i)", version: UInt64(i), row: i, now: 0) }
        let batches = p.plan(now: 100 * ms)
        #expect(batches.map(\.items.count) == [3, 3])
        #expect(p.stats.inFlight == 2 && p.stats.pending == 4)
        #expect(p.nextWake(now: 100 * ms) == nil, "nothing to do until a batch lands")
        _ = p.stored(batches[0].id, now: 101 * ms)
        #expect(p.plan(now: 101 * ms).map(\.items.count) == [3])
    }

    @Test func pendingIsBounded() {
        var p = planner(maxPending: 3)
        for i in 1...2 { p.record("k\(i)", version: UInt64(i), row: i, now: 0) }
        #expect(p.wantsChanges)
        p.record("k3", version: 3, row: 3, now: 0)
        #expect(!p.wantsChanges)
        _ = p.plan(now: 100 * ms)
        #expect(p.wantsChanges, "keys in flight no longer count against the bound")
    }

    @Test func aTransientFailureBacksOffEveryBatchAndRetriesTheRecords() {
        var p = planner()
        p.record("a", version: 1, row: 1, now: 0)
        let first = p.plan(now: 100 * ms)
        p.failed(first[0].id, .transient("down"), now: 100 * ms)
        p.record("b", version: 2, row: 2, now: 0)
        // First backoff: 100 ms × jitter in [0.5, 1).
        #expect(p.plan(now: 149 * ms).isEmpty, "no batch at all during the backoff")
        let wake = p.nextWake(now: 149 * ms)!
        #expect(wake >= 150 * ms && wake < 200 * ms)
        let retry = p.plan(now: wake)
        #expect(retry.flatMap(\.items).map(\.key).sorted() == ["a", "b"])
        // A second failure in a row doubles the pause: [100, 200) ms.
        p.failed(retry[0].id, .transient("still down"), now: wake)
        let second = p.nextWake(now: wake)!
        #expect(second - wake >= 100 * ms && second - wake < 200 * ms)
        #expect(p.stats.transientFailures == 2 && p.stats.lastFailure == "still down")
    }

    @Test func aFailedVersionAlreadySupersededIsDropped() {
        var p = planner()
        p.record("a", version: 1, row: 1, now: 0)
        let first = p.plan(now: 100 * ms)
        p.record("a", version: 2, row: 2, now: 100 * ms)
        p.failed(first[0].id, .transient("timeout"), now: 150 * ms)
        let retry = p.plan(now: 1000 * ms)
        #expect(retry.flatMap(\.items).map(\.version) == [2])
        _ = p.stored(retry[0].id, now: 1000 * ms)
        #expect(p.isIdle)
    }

    @Test func aRefusedBatchIsSplitUntilTheBadRecordStandsAloneAndIsParked() {
        var p = planner(batchSize: 8, maxInFlight: 8)
        for i in 0..<8 { p.record("k\(i)", version: UInt64(i + 1), row: i, now: 0) }
        var now = 100 * ms
        var stored: [String] = []
        var rounds = 0
        // The store refuses any batch holding row 5.
        while rounds < 10 {
            let batches = p.plan(now: now)
            if batches.isEmpty { break }
            for batch in batches {
                if batch.items.contains(where: { $0.row == 5 }) {
                    p.failed(batch.id, .refused("row 5"), now: now)
                } else {
                    stored += p.stored(batch.id, now: now).map(\.key)
                }
            }
            rounds += 1
            now += ms
        }
        #expect(stored.sorted() == ["k0", "k1", "k2", "k3", "k4", "k6", "k7"])
        #expect(rounds == 4, "8 → 4 → 2 → 1")
        #expect(p.stats.parked == 1 && p.parkedItems.map(\.key) == ["k5"])
        #expect(p.settled(through: 8), "a parked record does not hold up a sync")
        #expect(p.nextWake(now: now)! >= 100 * ms + 10_000 * ms - 10 * ms, "parked records are retried after retryCap")
        // A newer version of the parked key replaces it and goes at once.
        p.record("k5", version: 9, row: 50, now: now)
        #expect(p.stats.parked == 0)
        let fixed = p.plan(now: now)
        #expect(fixed.flatMap(\.items).map(\.version) == [9])
    }

    @Test func hurryMakesChangesDueAtOnceAndSettledSaysWhenTheyAreStored() {
        var p = planner(delay: .seconds(5))
        p.record("a", version: 1, row: 1, now: 0)
        p.record("b", version: 2, row: 2, now: 0)
        p.record("c", version: 3, row: 3, now: 0)
        #expect(!p.settled(through: 2))
        p.hurry(through: 2)
        let batches = p.plan(now: 1)
        #expect(batches.flatMap(\.items).map(\.key) == ["a", "b"], "c was written after the sync began")
        #expect(!p.settled(through: 2))
        _ = p.stored(batches[0].id, now: 2)
        #expect(p.settled(through: 2) && !p.settled(through: 3))
    }

    @Test func deletesAreStoredAsRecordsWithoutARow() {
        var p = planner()
        p.record("a", version: 1, row: 1, now: 0)
        p.record("a", version: 2, row: nil, now: 0)
        let item = p.plan(now: 100 * ms)[0].items[0]
        #expect(item.version == 2 && item.row == nil)
    }

    @Test func aSyncWaitsForAVersionThatFailedAfterANewerOneCame() {
        var p = planner(delay: .seconds(5))
        p.record("k", version: 5, row: 5, now: 0)
        p.hurry(through: 5)
        let first = p.plan(now: 1)
        #expect(first.flatMap(\.items).map(\.version) == [5])
        p.record("k", version: 7, row: 7, now: 2)
        p.failed(first[0].id, .transient("timeout"), now: 3)
        #expect(!p.settled(through: 5), "version 5 was never stored; version 7 now stands for it")
        // And it is not left to wait out the 5 s delay.
        let retry = p.plan(now: 1000 * ms)
        #expect(retry.flatMap(\.items).map(\.version) == [7])
        _ = p.stored(retry[0].id, now: 1000 * ms)
        #expect(p.settled(through: 5))
    }

    @Test func aRecordMayStandForOlderLostChanges() {
        var p = planner(delay: .seconds(5))
        p.record("k", version: 9, row: 9, firstVersion: 3, now: 0)
        #expect(!p.settled(through: 4), "a resync's record stands for the changes lost after position 2")
        p.hurry(through: 4)
        #expect(p.plan(now: 1).flatMap(\.items).map(\.version) == [9])
    }

    @Test func parkedRecordsDoNotStopTheFeed() {
        var p = planner(batchSize: 1, maxPending: 2)
        p.record("a", version: 1, row: 1, now: 0)
        p.record("b", version: 2, row: 2, now: 0)
        for batch in p.plan(now: 100 * ms) { p.failed(batch.id, .refused("no"), now: 100 * ms) }
        #expect(p.stats.parked == 2)
        #expect(p.wantsChanges && p.room == 2)
    }
}


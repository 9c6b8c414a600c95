// The write-behind service over a real table and the reference sink: what is written reaches the
// store, failures are retried, refused rows stay dirty, dirty rows are never evicted, a reader
// that fell behind the feed catches up from a snapshot, and shutdown drains.
import Tables
import Testing
import WriteBehind

struct Pose: TableRecord, Equatable {
    var id: Int
    var x: Int64
    var key: Int { id }
}

let poses = TableSchema<Pose>(name: "poses")

/// Runs `body` with a write-behind service running over `table`; shuts it down after.
func withWriteBehind<R>(
    _ table: Table<Pose>, _ sink: MemoryFlushSink<Int, Pose>,
    options: FlushOptions = FlushOptions(delay: .milliseconds(5), batchSize: 64, retryBase: .milliseconds(5), retryCap: .milliseconds(50)),
    _ body: (WriteBehind<Pose, MemoryFlushSink<Int, Pose>>) async throws -> R
) async throws -> R {
    let service = WriteBehind(table: table, sink: sink, options: options)
    let running = Task { await service.run() }
    do {
        let result = try await body(service)
        service.shutdown(drain: .seconds(5))
        await running.value
        return result
    } catch {
        service.shutdown(drain: .zero)
        await running.value
        throw error
    }
}

func table(_ options: TableOptions<Pose> = TableOptions(tracksFlush: true)) -> Table<Pose> {
    Table(poses, options: options, clock: ManualClock())
}

@Suite(.timeLimit(.minutes(1))) struct WriteBehindTests {
    @Test func syncReturnsOnceEveryEarlierWriteIsStoredAndTheTableIsClean() async throws {
        let t = table()
        let sink = MemoryFlushSink<Int, Pose>()
        // A delay far longer than the writes: they coalesce, and the sync hurries them.
        let options = FlushOptions(delay: .seconds(30), batchSize: 64, retryBase: .milliseconds(5), retryCap: .milliseconds(50))
        try await withWriteBehind(t, sink, options: options) { service in
            // Started (an empty table's sync): the writes below then come through the feed, not
            // as the final versions of a first snapshot.
            _ = await service.sync()
            for round in 0..<20 {
                for id in 0..<500 { try t.upsert(Pose(id: id, x: Int64(round * 1000 + id))) }
            }
            try t.delete(7)
            let report = await service.sync()
            #expect(report == SyncReport(position: t.position, refused: 0, complete: true))
            let stored = sink.rows
            #expect(stored.count == 499 && stored[7] == nil)
            #expect(stored[42] == Pose(id: 42, x: 19_042))
            #expect(t.stats.dirty == 0)
            #expect(service.stats.coalesced > 0, "20 rounds over 500 keys are not 10,000 writes downstream")
            #expect(sink.regressions == 0)
        }
    }

    @Test func transientFailuresAreRetriedUntilStored() async throws {
        let t = table()
        let sink = MemoryFlushSink<Int, Pose>()
        sink.failNext(Array(repeating: .transient("database unreachable"), count: 5))
        try await withWriteBehind(t, sink) { service in
            for id in 0..<100 { try t.insert(Pose(id: id, x: 1)) }
            let report = await service.sync()
            #expect(report.complete && report.refused == 0)
            #expect(sink.rows.count == 100 && t.stats.dirty == 0)
            #expect(service.stats.transientFailures == 5 && service.stats.lastFailure == "database unreachable")
        }
    }

    @Test func aRefusedRowStaysDirtyAndTheRestIsStored() async throws {
        let t = table()
        let sink = MemoryFlushSink<Int, Pose>(refuses: { $0.x < 0 })
        try await withWriteBehind(t, sink) { service in
            for id in 0..<50 { try t.insert(Pose(id: id, x: id == 13 ? -1 : 1)) }
            let report = await service.sync()
            #expect(report.complete && report.refused == 1)
            #expect(sink.rows.count == 49 && sink.rows[13] == nil)
            #expect(t.getVersioned(13)?.isDirty == true && t.getVersioned(12)?.isDirty == false)
            // The game corrects the row: the new version replaces the parked one and is stored.
            try t.update(Pose(id: 13, x: 5))
            #expect(await service.sync().refused == 0)
            #expect(sink.rows[13] == Pose(id: 13, x: 5) && t.stats.dirty == 0)
        }
    }

    @Test func dirtyRowsAreNeverEvictedBeforeTheyAreStored() async throws {
        let t = table(TableOptions(rowLimit: 100, tracksFlush: true))
        let sink = MemoryFlushSink<Int, Pose>()
        for id in 0..<100 { try t.insert(Pose(id: id, x: 1)) }
        // Nothing stored yet: the table refuses to make room rather than lose a row.
        #expect(throws: TableError.self) { try t.insert(Pose(id: 100, x: 1)) }
        try await withWriteBehind(t, sink) { service in
            _ = await service.sync()
            for id in 100..<200 { try t.insert(Pose(id: id, x: 2)) }
            #expect(t.stats.count == 100 && t.stats.evictions == 100)
            _ = await service.sync()
            #expect(sink.rows.count == 200, "every row reached the store, evicted or not")
        }
    }

    @Test func aReaderBehindTheFeedResyncsFromASnapshot() async throws {
        let t = table(TableOptions(tracksFlush: true, feedCapacity: 16))
        let sink = MemoryFlushSink<Int, Pose>()
        let options = FlushOptions(delay: .zero, batchSize: 4, maxInFlight: 1, maxPending: 4,
                                   retryBase: .milliseconds(20), retryCap: .milliseconds(20))
        try await withWriteBehind(t, sink, options: options) { service in
            try t.insert(Pose(id: 0, x: 0))
            _ = await service.sync()
            // Few keys held at once and a store that keeps failing: the reader stops reading and
            // the feed's 16 changes are overwritten long before it comes back.
            sink.failNext(Array(repeating: .transient("slow"), count: 10))
            for id in 0..<300 { try t.upsert(Pose(id: id % 120, x: Int64(id))) }
            let report = await service.sync()
            #expect(report.complete)
            #expect(service.resyncs > 0)
            #expect(sink.rows == Dictionary(uniqueKeysWithValues: t.snapshot().rows.map { ($0.id, $0) }))
            #expect(t.stats.dirty == 0 && sink.regressions == 0)
        }
    }

    @Test func shutdownDrainsWhatWasWritten() async throws {
        let t = table()
        let sink = MemoryFlushSink<Int, Pose>()
        let service = WriteBehind(table: t, sink: sink, options: FlushOptions(delay: .seconds(60)))
        let running = Task { await service.run() }
        for id in 0..<1000 { try t.insert(Pose(id: id, x: Int64(id))) }
        service.shutdown(drain: .seconds(10))
        await running.value
        #expect(sink.rows.count == 1000, "a 60 s delay does not hold up the drain")
        #expect(await service.sync().complete == false, "a sync after the stop is answered at once")
    }

    @Test func recordsDirtyBeforeTheServiceStartsAreStored() async throws {
        let t = table()
        for id in 0..<10 { try t.insert(Pose(id: id, x: 3)) }
        let sink = MemoryFlushSink<Int, Pose>()
        try await withWriteBehind(t, sink) { service in
            _ = await service.sync()
            #expect(sink.rows.count == 10)
        }
    }
}

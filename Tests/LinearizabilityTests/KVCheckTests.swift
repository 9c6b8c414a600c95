import Linearizability
import Testing

/// Hand-written KV histories, each stated with its expected verdict.
@Suite struct KVCheckTests {
    @Test(arguments: [
        ("sequential write then read", true, """
            1 write x 1
            1 ok
            2 read x
            2 ok 1
            """),
        ("stale read after a completed write", false, """
            1 write x 1
            1 ok
            2 read x
            2 ok -
            """),
        ("read overlapping a write sees the old value", true, """
            1 write x 1
            2 read x
            2 ok -
            1 ok
            """),
        ("read overlapping a write sees the new value", true, """
            1 write x 1
            2 read x
            2 ok 1
            1 ok
            """),
        ("reads flip back to an older value: lost write", false, """
            1 write x 1
            1 ok
            1 write x 2
            1 ok
            2 read x
            2 ok 1
            """),
        ("concurrent writes, reads agree on one order", true, """
            1 write x 1
            2 write x 2
            1 ok
            2 ok
            3 read x
            3 ok 1
            3 read x
            3 ok 1
            """),
        ("concurrent writes, reads see both orders", false, """
            1 write x 1
            2 write x 2
            1 ok
            2 ok
            3 read x
            3 ok 1
            4 read x
            4 ok 2
            3 read x
            3 ok 1
            """),
        ("two cas from the same old value both succeed: cas race", false, """
            1 write x 0
            1 ok
            1 cas x 0 1
            2 cas x 0 2
            1 ok
            2 ok
            """),
        ("cas race with one failure", true, """
            1 write x 0
            1 ok
            1 cas x 0 1
            2 cas x 0 2
            1 ok
            2 fail
            3 read x
            3 ok 1
            """),
        ("chained cas from absent", true, """
            1 cas x - 1
            2 cas x 1 2
            1 ok
            2 ok
            3 read x
            3 ok 2
            """),
        ("cas from absent on a present key", false, """
            1 write x 3
            1 ok
            2 cas x - 1
            2 ok
            """),
        ("failed cas certainly did not happen", false, """
            1 cas x - 5
            1 fail
            2 read x
            2 ok 5
            """),
        ("failed write certainly did not happen", true, """
            1 write x 5
            1 fail
            2 read x
            2 ok -
            """),
        ("info write that did not happen", true, """
            1 write x 1
            1 info
            2 read x
            2 ok -
            2 read x
            2 ok -
            """),
        ("info write that happened", true, """
            1 write x 1
            1 info
            2 read x
            2 ok 1
            """),
        ("info write that happened long after its info", true, """
            1 write x 1
            1 info
            2 read x
            2 ok -
            2 read x
            2 ok -
            2 read x
            2 ok 1
            """),
        ("info write cannot be undone", false, """
            1 write x 1
            1 info
            2 read x
            2 ok 1
            2 read x
            2 ok -
            """),
        ("info write cannot happen before its invocation", false, """
            2 read x
            2 ok 1
            1 write x 1
            1 info
            """),
        ("info cas may have taken effect", true, """
            1 write x 0
            1 ok
            1 cas x 0 1
            1 info
            2 read x
            2 ok 1
            """),
        ("info cas whose old value never held cannot take effect", false, """
            1 write x 0
            1 ok
            1 cas x 7 1
            1 info
            2 read x
            2 ok 1
            """),
        ("operation never completed is like info", true, """
            1 write x 1
            2 read x
            2 ok 1
            """),
        ("read of an absent key", true, """
            1 read y
            1 ok -
            """),
        ("read of an absent key returns a value", false, """
            1 read y
            1 ok 0
            """),
        ("keys are independent", false, """
            1 write x 1
            1 ok
            2 read y
            2 ok 1
            """),
        ("write null deletes", true, """
            1 write x 1
            1 ok
            1 write x -
            1 ok
            2 read x
            2 ok -
            """),
        ("many concurrent writers and one late stale read", false, """
            1 write x 1
            2 write x 2
            3 write x 3
            1 ok
            2 ok
            3 ok
            4 read x
            4 ok 3
            5 read x
            5 ok 1
            """),
    ])
    func verdict(name: String, linearizable: Bool, script: String) throws {
        #expect(try kvLinearizable(script) == linearizable, "\(name)")
    }

    @Test func historyRejectsDoubleInvokeAndOrphanCompletion() {
        var history = History<KVModel>()
        #expect(throws: HistoryError.invokeWhilePending(1)) {
            try history.invoke(process: 1, .read(key: "x"))
            try history.invoke(process: 1, .read(key: "x"))
        }
        #expect(throws: HistoryError.completionWithoutInvoke(2)) {
            try history.ok(process: 2, .written)
        }
    }

    @Test func budgetExhaustionIsUnknown() throws {
        // Twelve concurrent writes and a read each of whose answers needs a search.
        var script = ""
        for p in 1...12 { script += "\(p) write x \(p)\n" }
        for p in 1...12 { script += "\(p) ok\n" }
        script += "13 read x\n13 ok 99\n"
        let history = try kvHistory(script)
        let result = history.check(KVModel(), budget: CheckBudget(stepsMax: 5))
        guard case .unknown(let undecided) = result else {
            Issue.record("expected unknown, got \(result)")
            return
        }
        #expect(undecided == ["x"])
    }

    @Test func concurrentWritesAndAnImpossibleRead() throws {
        var script = ""
        for p in 1...6 { script += "\(p) write x \(p)\n" }
        for p in 1...6 { script += "\(p) ok\n" }
        script += "7 read x\n7 ok 99\n"
        let window = try #require(try kvHistory(script).check(KVModel()).window)
        // The impossible read alone contradicts the model; the writes are context.
        #expect(window.involved.map(\.operation.input) == [.read(key: "x")])
        #expect(window.operations.count == 7)
    }

    @Test func stopConditionEndsTheSearch() throws {
        var script = ""
        for p in 1...14 { script += "\(p) write x \(p)\n" }
        for p in 1...14 { script += "\(p) ok\n" }
        script += "15 read x\n15 ok 99\n"
        let result = try kvHistory(script).check(KVModel(), budget: CheckBudget(shouldStop: { true }))
        if case .unknown = result {} else { Issue.record("expected unknown, got \(result)") }
    }
}

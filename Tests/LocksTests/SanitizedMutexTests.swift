// Contended hand-offs through `SanitizedMutex`. In the plain suite this checks mutual exclusion;
// under scripts/test-tsan it checks that the sanitizer sees each hand-off: with a bare `Mutex`
// the same loop is reported as a race within a few thousand contended locks.
import Dispatch
import Testing
import Locks

@Suite struct SanitizedMutexTests {
    final class Counters: @unchecked Sendable { var counts = [Int](repeating: 0, count: 64) }

    @Test func contendedHandOffsKeepEveryUpdate() {
        let lock = SanitizedMutex(Counters())
        let threads = 4, rounds = 20_000
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<rounds {
                lock.withLock { c in
                    // A read-modify-write long enough that owners overlap and the lock contends.
                    for j in 0..<16 { c.counts[(i &* 7 &+ j) % 64] &+= t + 1 }
                }
            }
        }
        let total = lock.withLock { $0.counts.reduce(0, +) }
        #expect(total == rounds * 16 * (1...threads).reduce(0, +))
    }
}

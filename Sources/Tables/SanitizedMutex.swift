// A `Mutex` whose hand-offs the thread sanitizer can see.
//
// On Linux, `Synchronization.Mutex` takes and releases an uncontended lock with a compare-and-swap
// inlined into our code, which TSan instruments. A contended lock is different: the unlocking
// thread calls FUTEX_UNLOCK_PI and the kernel hands ownership to the waiter inside FUTEX_LOCK_PI,
// both in the uninstrumented Synchronization library. TSan then sees no happens-before edge from
// the last owner to the woken one, and reports the state the lock protects as raced (CI caught
// one between a writer's `upsert` and a reader's `invariantViolations`, both inside `withLock`).
// Abseil's futex mutex has the same gap and closes it with TSan annotations; here a release
// store on unlock and an acquire load on lock make the edge visible. On x86 both are plain
// moves, so the shipped build and the sanitized build run the same code.
import Synchronization

struct SanitizedMutex<Value: ~Copyable>: ~Copyable, Sendable {
    private let mutex: Mutex<Value>
    /// Bumped by every owner just before it unlocks; read by every owner just after it locks.
    private let handoff = Atomic<UInt>(0)

    init(_ value: consuming sending Value) { mutex = Mutex(value) }

    @inline(__always)
    borrowing func withLock<R: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending R
    ) throws(E) -> sending R {
        try mutex.withLock { (value) throws(E) -> sending R in
            let seen = handoff.load(ordering: .acquiring)
            defer { handoff.store(seen &+ 1, ordering: .releasing) }
            return try body(&value)
        }
    }
}

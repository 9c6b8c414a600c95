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
//
// Every module that shares state between threads takes its locks from here, so each can join the
// sanitized test step (scripts/test-tsan) without false reports. Inlinable: a table's get and put
// take a lock each, and a call across modules would cost more than the lock.
import Synchronization

@frozen
public struct SanitizedMutex<Value: ~Copyable>: ~Copyable, Sendable {
    @usableFromInline let mutex: Mutex<Value>
    /// Bumped by every owner just before it unlocks; read by every owner just after it locks.
    @usableFromInline let handoff = Atomic<UInt>(0)

    @inlinable
    public init(_ value: consuming sending Value) { mutex = Mutex(value) }

    @inlinable @inline(__always)
    public borrowing func withLock<R: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending R
    ) throws(E) -> sending R {
        try mutex.withLock { (value) throws(E) -> sending R in
            let seen = handoff.load(ordering: .acquiring)
            defer { handoff.store(seen &+ 1, ordering: .releasing) }
            return try body(&value)
        }
    }
}

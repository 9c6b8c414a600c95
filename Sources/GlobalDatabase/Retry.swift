// The one retry wrapper every transaction goes through (global-tier.md §1.11 rules 1–3): run the
// whole body again on a serialisation failure or deadlock, after a capped exponential back-off with
// full jitter; retry an ambiguous commit only when the body is idempotent; give up after a cap.
import Locks

public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// A uniform draw in [0, 1), handed in so tests can make back-off deterministic.
    public var jitter: @Sendable () -> Double
    public var sleep: @Sendable (Duration) async -> Void

    public init(
        maxAttempts: Int = 15, baseDelay: Duration = .milliseconds(1), maxDelay: Duration = .milliseconds(250),
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    ) {
        precondition(maxAttempts >= 1)
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.sleep = sleep
    }

    /// Full jitter: uniform in [0, min(cap, base · 2^(attempt−1))).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let ceiling = min(maxDelay, baseDelay * (1 << min(attempt - 1, 20)))
        return ceiling * jitter()
    }
}

/// Test-only fault injection, deterministic from a seed: with probability `retryRate` a transaction
/// fails just before COMMIT with the backend's serialisation error (a real 40001 raised by the
/// server on PostgreSQL, SQLITE_BUSY's stand-in on SQLite), and with probability
/// `lostCommitRate` a transaction that did commit reports a lost connection, as an ambiguous commit.
public final class FaultInjector: Sendable {
    public let retryRate: Double
    public let lostCommitRate: Double
    private let state: SanitizedMutex<(rng: UInt64, retries: Int, lostCommits: Int)>

    public init(seed: UInt64, retryRate: Double, lostCommitRate: Double = 0) {
        self.retryRate = retryRate
        self.lostCommitRate = lostCommitRate
        state = SanitizedMutex((seed | 1, 0, 0))
    }

    /// Faults injected so far: (serialisation failures, lost commits).
    public var injected: (retries: Int, lostCommits: Int) { state.withLock { ($0.retries, $0.lostCommits) } }

    func failBeforeCommit() -> Bool { draw(below: retryRate, lost: false) }
    func loseCommit() -> Bool { draw(below: lostCommitRate, lost: true) }

    private func draw(below rate: Double, lost: Bool) -> Bool {
        state.withLock { s in
            s.rng ^= s.rng << 13; s.rng ^= s.rng >> 7; s.rng ^= s.rng << 17  // xorshift64
            let hit = Double(s.rng >> 11) / Double(1 << 53) < rate
            if hit { if lost { s.lostCommits += 1 } else { s.retries += 1 } }
            return hit
        }
    }
}

struct InjectedLostCommit: Error {}

extension SQLBackend {
    /// Runs `body` in a transaction under the retry rules. Errors the body throws as
    /// `GlobalDatabaseError` pass through unchanged (after the rollback).
    func run<T: Sendable>(
        idempotent: Bool, policy: RetryPolicy, faults: FaultInjector?,
        _ body: @escaping @Sendable (any SQLSession) async throws -> T
    ) async throws(GlobalDatabaseError) -> T {
        var last = ""
        for attempt in 1...policy.maxAttempts {
            do {
                let value = try await transaction { session in
                    let value = try await body(session)
                    if faults?.failBeforeCommit() == true { try await session.injectSerializationFailure() }
                    return value
                }
                if faults?.loseCommit() == true { throw InjectedLostCommit() }
                return value
            } catch let error as GlobalDatabaseError {
                throw error
            } catch is InjectedLostCommit {
                guard idempotent else { throw .ambiguousCommit("connection lost during COMMIT (injected)") }
                last = "ambiguous commit (injected)"
            } catch {
                switch classify(error) {
                case .retry(let detail): last = detail
                case .ambiguous(let detail):
                    guard idempotent else { throw .ambiguousCommit(detail) }
                    last = detail
                case .constraint(let detail): throw .constraintViolation(detail)
                case .unreachable(let detail): throw .unreachable(detail)
                case .other(let detail): throw .backend(detail)
                }
            }
            if attempt < policy.maxAttempts { await policy.sleep(policy.delay(afterAttempt: attempt)) }
        }
        throw .retriesExhausted(attempts: policy.maxAttempts, last: last)
    }
}

// Writing a store's new chunks to disk while the writer is still cutting, hashing and compressing.
//
// Why: `make` ends with one syncfs so that its index never names a chunk a power cut could lose.
// Left to that syncfs, the whole gigabyte waits for the disk after the CPUs are done — measured
// 1.3 s of a 5.7 s `kura make` of 1 GiB, both cores idle. A syncfs started in the background after
// every `interval` bytes keeps the disk busy during the CPU work instead (5.7 → 4.8 s), and the
// closing syncfs finds only the tail left. The background syncfs blocks one extra thread, not a
// worker: the kernel's flusher does the writing, and its CPU share measured small (~0.3 CPU-s/GiB).
// (Starting each chunk file's writeback from the worker itself with sync_file_range was measured
// too: it moves that submission work onto the two busy cores and gained nothing.)
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif
import Locks

final class BackgroundSync: Sendable {
    private struct State {
        var inFlight = false
        var failure: FileIOError?
    }

    private let path: String
    /// The store directory, open from the start: syncfs on it reports every writeback error of the
    /// file system since it was opened, including those of writeback the kernel started on its own.
    private let fd: Int32
    private let interval: Int
    private let written = Atomic<Int>(0)
    /// Background syncfs calls started so far (for tests).
    let started = Atomic<Int>(0)
    private let state = SanitizedMutex(State())
    private let queue = DispatchQueue(label: "kura.chunk-store.background-sync")

    /// Opens `path` (a directory); nil when it cannot be opened (the caller then syncs by path).
    init?(path: String, interval: Int) {
        precondition(interval > 0, "background sync interval \(interval)")
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.path = path
        self.fd = fd
        self.interval = interval
    }

    /// A syncfs in flight holds a reference (its closure captures self), so fd outlives it; and deinit
    /// may run on the queue itself, so it must not wait for the queue.
    deinit { close(fd) }

    /// Counts `count` bytes written; starts a background syncfs when they cross a multiple of the
    /// interval and none is running (if one is, it is still writing: the next crossing starts another).
    func wrote(_ count: Int) {
        let before = written.wrappingAdd(count, ordering: .relaxed).oldValue
        guard before / interval != (before + count) / interval else { return }
        let start = state.withLock { state in
            if state.inFlight { return false }
            state.inFlight = true
            return true
        }
        guard start else { return }
        started.wrappingAdd(1, ordering: .relaxed)
        queue.async { [self] in
            let failure = syncNow()
            state.withLock { state in
                state.inFlight = false
                if state.failure == nil { state.failure = failure }
            }
        }
    }

    /// Waits for the background syncfs, then makes everything written so far durable: throws the
    /// first failure of either.
    func finish() throws(FileIOError) {
        queue.sync {}
        if let failure = state.withLock({ $0.failure }) { throw failure }
        if let failure = syncNow() { throw failure }
    }

    /// One syncfs through the store's descriptor; its error, if any.
    private func syncNow() -> FileIOError? {
        FileIO.syncFileSystem(fd: fd) == 0 ? nil : FileIOError(path: path, operation: "syncfs", code: errno)
    }
}

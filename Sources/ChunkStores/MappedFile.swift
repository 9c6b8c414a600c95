// A read-only memory map of a whole file: the chunker and hashers read it in place, no copies.
#if canImport(Glibc)
import Glibc
#endif

/// Immutable after init and mapped PROT_READ, so concurrent readers on many threads are safe;
/// the mapping lives until the last reference goes.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    private let base: UnsafeRawPointer?

    public init(path: String) throws(FileIOError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileIOError(path: path, operation: "stat", code: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw FileIOError(path: path, operation: "map (not a regular file)", code: EINVAL) }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else { throw FileIOError(path: path, operation: "mmap", code: errno) }
        madvise(address, count, MADV_SEQUENTIAL)
        base = UnsafeRawPointer(address)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// A buffer handed to worker threads. Safe because every worker only reads it, and the caller keeps
/// the memory alive (and unwritten) until the workers have finished.
struct SharedBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
}

/// A buffer workers write at disjoint indices; the caller owns the memory and reads it after they finish.
struct SharedSlots<Element>: @unchecked Sendable {
    let slots: UnsafeMutableBufferPointer<Element>
}

// A file being written under a temporary name beside its target, renamed over the target only on
// commit. Until then the target, if it exists, is untouched.
#if canImport(Glibc)
import Glibc
#endif

final class PartialFile: @unchecked Sendable {
    // Safe to share: after init only `write` runs concurrently, and pwrite(2) at disjoint offsets on one
    // descriptor is safe; commit and discard run after the writers have finished.
    let target: String
    let temporary: String
    private var fd: Int32

    init(target: String, size: UInt64) throws(FileIOError) {
        self.target = target
        let directory = FileIO.parentDirectory(of: target)
        let name = target.split(separator: "/").last.map(String.init) ?? target
        temporary = "\(directory)/.\(name).\(FileIO.randomSuffix()).partial"
        var mode: mode_t = 0o644
        var st = stat()
        if stat(target, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFREG else {
                throw FileIOError(path: target, operation: "extract to (not a regular file)", code: EISDIR)
            }
            mode = st.st_mode & 0o7777
        }
        fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileIOError(path: temporary, operation: "create", code: errno) }
        if ftruncate(fd, off_t(size)) != 0 {
            let code = errno
            discard()
            throw FileIOError(path: temporary, operation: "truncate", code: code)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) -> FileIOError? {
        FileIO.writeAll(fd, bytes, at: Int(offset), path: temporary)
    }

    /// Renames the file over the target; with `sync`, first makes its bytes durable (fsync) and then
    /// the rename (fsync of the directory), so not even a power cut can leave a partial target.
    func commit(sync: Bool) throws(FileIOError) {
        precondition(fd >= 0, "commit of \(temporary) after discard")
        if sync && fsync(fd) != 0 {
            let code = errno
            discard()
            throw FileIOError(path: temporary, operation: "fsync", code: code)
        }
        close(fd)
        fd = -1
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileIOError(path: target, operation: "rename", code: code)
        }
        if sync { try FileIO.syncDirectory(FileIO.parentDirectory(of: target)) }
    }

    func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(temporary)
    }
}

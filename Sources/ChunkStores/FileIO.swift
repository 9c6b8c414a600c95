// Thin wrappers over POSIX file calls, with errors that name the path and the operation.
#if canImport(Glibc)
import Glibc
#endif

public struct FileIOError: Error, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let code: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

public enum FileIO {
    static func lastError() -> String { String(cString: strerror(errno)) }

    static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// mkdir that accepts an existing directory.
    public static func makeDirectory(_ path: String) throws(FileIOError) {
        if mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw FileIOError(path: path, operation: "mkdir", code: errno)
        }
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String) throws(FileIOError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw FileIOError(path: path, operation: "mkdir", code: ENOTDIR) }
            return
        }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            try makeDirectory(prefix)
        }
    }

    /// The whole file, or nil if it does not exist.
    public static func readFileIfExists(_ path: String) throws(FileIOError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileIOError(path: path, operation: "open", code: errno)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileIOError(path: path, operation: "stat", code: errno) }
        let size = Int(st.st_size)
        var failure: FileIOError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var done = 0
            while done < size {
                let n = read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = FileIOError(path: path, operation: "read", code: errno); break }
                if n == 0 { failure = FileIOError(path: path, operation: "read (file shrank)", code: EIO); break }
                done += n
            }
            count = failure == nil ? size : 0
        }
        if let failure { throw failure }
        return bytes
    }

    public static func readFile(_ path: String) throws(FileIOError) -> [UInt8] {
        guard let bytes = try readFileIfExists(path) else { throw FileIOError(path: path, operation: "open", code: ENOENT) }
        return bytes
    }

    /// Creates `path` (which must not exist), writes `bytes`, optionally fsyncs, closes.
    public static func writeNewFile(_ path: String, bytes: [UInt8], mode: mode_t, sync: Bool) throws(FileIOError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "create", code: errno) }
        var failure: FileIOError?
        bytes.withUnsafeBytes { raw in
            if let error = writeAll(fd, raw, at: nil, path: path) { failure = error }
        }
        if failure == nil && sync && fsync(fd) != 0 { failure = FileIOError(path: path, operation: "fsync", code: errno) }
        if close(fd) != 0 && failure == nil { failure = FileIOError(path: path, operation: "close", code: errno) }
        if let failure {
            unlink(path)
            throw failure
        }
    }

    /// Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY, the same on x86_64 and arm64); Glibc does not
    /// export it to Swift.
    static let oTmpfile: Int32 = 0o20_200_000

    /// Writes `bytes` to an unnamed file in `directory` and links it as `target`: two metadata
    /// operations instead of three (create, link, unlink), and no temporary name a crash can leave.
    /// Returns false when the file system has no O_TMPFILE (the caller falls back); an existing
    /// target is left as it is (content addressing: it holds the same bytes).
    static func writeAnonymousThenLink(
        directory: String, target: String, bytes: [UInt8], mode: mode_t, sync: Bool
    ) throws(FileIOError) -> Bool {
        let fd = open(directory, oTmpfile | O_WRONLY | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL { return false }
            throw FileIOError(path: directory, operation: "create (O_TMPFILE)", code: errno)
        }
        defer { close(fd) }
        let failure = bytes.withUnsafeBytes { writeAll(fd, $0, at: nil, path: target) }
        if let failure { throw failure }
        if sync && fsync(fd) != 0 { throw FileIOError(path: target, operation: "fsync", code: errno) }
        if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, target, AT_SYMLINK_FOLLOW) != 0 && errno != EEXIST {
            if errno == ENOENT && !exists("/proc/self/fd") { return false }  // no /proc: fall back
            throw FileIOError(path: target, operation: "link", code: errno)
        }
        return true
    }

    /// Writes all of `bytes` at `offset` (pwrite), or at the current position when nil.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int?, path: String) -> FileIOError? {
        var done = 0
        while done < bytes.count {
            let n = if let offset {
                pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            } else {
                write(fd, bytes.baseAddress! + done, bytes.count - done)
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return FileIOError(path: path, operation: "write", code: errno) }
            done += n
        }
        return nil
    }

    public static func syncDirectory(_ path: String) throws(FileIOError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileIOError(path: path, operation: "fsync", code: errno) }
    }

    public static func syncFileSystem(_ path: String) throws(FileIOError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        guard Self.syncfs(fd) == 0 else { throw FileIOError(path: path, operation: "syncfs", code: errno) }
    }

    /// syncfs(2) on an open descriptor: 0, or -1 with errno set.
    static func syncFileSystem(fd: Int32) -> Int32 { syncfs(fd) }

    /// syncfs(2) is a GNU extension the Glibc module does not export; look it up once at run time and
    /// fall back to sync(2), which flushes every file system (slower, equally durable).
    private static let syncfs: @convention(c) (Int32) -> Int32 = {
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") {
            return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
        }
        return { _ in sync(); return 0 }
    }()

    public static func directoryEntries(_ path: String) throws(FileIOError) -> [String] {
        guard let dir = opendir(path) else { throw FileIOError(path: path, operation: "opendir", code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Atomically writes a whole file: temporary file in the same directory, fsync, rename, fsync dir.
    public static func writeAtomically(_ path: String, bytes: [UInt8], mode: mode_t = 0o644) throws(FileIOError) {
        let directory = parentDirectory(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = "\(directory)/.\(name).\(randomSuffix()).tmp"
        try writeNewFile(temporary, bytes: bytes, mode: mode, sync: true)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileIOError(path: path, operation: "rename", code: code)
        }
        try syncDirectory(directory)
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }
}

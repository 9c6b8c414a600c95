// A fresh directory for one test, shared by the chunk-store and interop tests.
import Foundation

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "kura-test-") throws {
        path = NSTemporaryDirectory() + prefix + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Stores (ours and casync's) hold read-only chunk files and directories: made writable first.
    public func cleanup() {
        if let walker = FileManager.default.enumerator(atPath: path) {
            for case let name as String in walker {
                try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path + "/" + name)
            }
        }
        _ = try? FileManager.default.removeItem(atPath: path)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    public func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }
}

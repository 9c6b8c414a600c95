// Running peers and our own binaries as processes, timed by the wall clock.
import Foundation

enum Tools {
    /// An executable built beside kura-bench (same build directory).
    static func sibling(_ name: String) throws -> String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let path = exe.deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchError("\(name) not found beside kura-bench (\(path)); build it with the same -c")
        }
        return path
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: String, discardOutput: Bool = false) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = discardOutput ? FileHandle.nullDevice : FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Wall seconds and CPU seconds (user + system, all threads) of one successful run. CPU time is
    /// the figure that survives a shared machine: other jobs stretch the wall clock, not the work.
    static func timed(_ executable: String, _ arguments: [String], in directory: String) throws -> (wall: Double, cpu: Double) {
        let cpuBefore = childrenCPU()
        let start = Clock.wall()
        let status = try run(executable, arguments, in: directory, discardOutput: true)
        let seconds = Clock.wall() - start
        guard status == 0 else { throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited \(status)") }
        return (seconds, childrenCPU() - cpuBefore)
    }

    /// User + system seconds of every child this process has waited for (getrusage(RUSAGE_CHILDREN)).
    static func childrenCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func sameContents(_ a: String, _ b: String) throws -> Bool {
        try run("/usr/bin/cmp", ["-s", a, b], in: "/", discardOutput: true) == 0
    }

    static func removeTree(_ path: String) {
        _ = try? run("/bin/chmod", ["-R", "u+w", path], in: "/", discardOutput: true)
        try? FileManager.default.removeItem(atPath: path)
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}

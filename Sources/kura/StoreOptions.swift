// Options and helpers shared by the chunk-store commands.
import ArgumentParser
import ChunkServer
import ChunkStores
import Chunks

#if canImport(Glibc)
import Glibc
#endif

struct ConcurrencyOption: ParsableArguments {
    @Option(name: .short, help: "Threads to use (default: the number of CPUs).")
    var n: Int?

    var workers: Int {
        get throws {
            let value = n ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            guard value >= 1 && value <= 1024 else { throw ValidationError("-n must be between 1 and 1024, got \(value)") }
            return value
        }
    }
}

/// Opens a store argument that must be local: a directory in casync's layout.
func openStore(_ location: String, form: ChunkForm = .compressed, create: Bool) throws -> FileSystemChunkStore {
    if location.contains("://") {
        throw ValidationError("store \(location): this command needs a local directory store")
    }
    return try FileSystemChunkStore(root: location, form: form, create: create)
}

/// Opens a store argument that may be remote: a directory, or `http://HOST[:PORT]/PREFIX/` in
/// desync's HTTP protocol (`kura chunk-server`, desync's chunk-server, a static web server).
func openAnyStore(_ location: String, form: ChunkForm = .compressed, create: Bool) throws -> any WritableChunkStore {
    if location.hasPrefix("http://") { return try HTTPChunkStore(url: location, form: form) }
    if location.contains("://") {
        throw ValidationError("store \(location): only directories and http:// stores are supported by this build")
    }
    return try FileSystemChunkStore(root: location, form: form, create: create)
}

func readIndex(_ path: String) throws -> ChunkIndex {
    let bytes: [UInt8]
    do {
        bytes = try FileIO.readFile(path)
    } catch {
        throw ValidationError("cannot read index: \(error)")
    }
    do {
        return try ChunkIndex(decoding: bytes)
    } catch {
        throw ValidationError("\(path): \(error)")
    }
}

func mapFile(_ path: String) throws -> MappedFile {
    do {
        return try MappedFile(path: path)
    } catch {
        throw ValidationError("cannot read \(path): \(error)")
    }
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func formatBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(n) B" : "\((value * 100).rounded() / 100) \(units[unit])"
}

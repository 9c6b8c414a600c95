// `extract`: rebuild a blob from its index, taking each chunk from a seed when one holds it and from
// the store otherwise, on every core, verifying every chunk's digest before its bytes are written.
//
// The blob is written to a temporary file beside the target and renamed over it only when every
// chunk is in place and verified, so a wrong or partial file never stands under the target's name and
// an existing target is never damaged. Durability across a power cut is opt-in (`sync`: fsync before
// the rename), as it costs a full write-back of the blob; casync and desync do not fsync either, and
// an extracted blob can always be extracted again. An existing target is itself a seed: it is chunked with the
// index's parameters, and its chunks whose sizes the index needs are hashed and reused.
import Chunks
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif
import Locks

public struct Seed: Sendable {
    public let index: ChunkIndex
    public let file: MappedFile

    public init(index: ChunkIndex, file: MappedFile) {
        self.index = index
        self.file = file
    }
}

public struct ExtractStatistics: Sendable, Equatable {
    public var chunks = 0
    public var chunksFromStore = 0
    public var chunksFromSeeds = 0
    /// Chunks of zeros left as holes (the temporary file starts out all zeros).
    public var chunksOfZeros = 0
    /// Seed chunks whose bytes did not match their ID (the store supplied them instead).
    public var seedMismatches = 0
    public var bytes: UInt64 = 0

    public init() {}
}

public enum ExtractError: Error, CustomStringConvertible {
    case chunk(ChunkStoreError, moreFailures: Int)
    case file(FileIOError)

    public var description: String {
        switch self {
        case .chunk(let error, 0): "\(error)"
        case .chunk(let error, let more): "\(error) (and \(more) more chunks failed)"
        case .file(let error): "\(error)"
        }
    }
}

public enum Extractor {
    public static func extract(
        index: ChunkIndex, store: any ChunkStore, seeds: [Seed], target: String, reuseTarget: Bool = true,
        sync: Bool = false, workers: Int, progress: (@Sendable (Int) -> Void)? = nil
    ) throws(ExtractError) -> ExtractStatistics {
        // Load libcrypto (a few ms of dynamic linking) while this thread reads the target and plans.
        DispatchQueue.global().async { _ = OpenSSLDigests.shared }
        var sources = seeds.map(SeedSources.File.init)
        if reuseTarget, let existing = try? MappedFile(path: target),
            let spans = targetSpans(existing, for: index, workers: workers)
        {
            sources.append(spans)
        }
        let output: PartialFile
        do {
            output = try PartialFile(target: target, size: index.blobSize)
        } catch {
            throw .file(error)
        }
        do throws(ExtractError) {
            let statistics = try write(
                index: index, store: store, seeds: SeedSources(sources), into: output, workers: workers, progress: progress)
            do {
                try output.commit(sync: sync)
            } catch {
                throw ExtractError.file(error)
            }
            return statistics
        } catch {
            output.discard()
            throw error
        }
    }

    /// One unit of work: a distinct chunk and every place it goes.
    struct Placement {
        let id: ChunkID
        let size: Int
        var offsets: [UInt64]
    }

    static func placements(_ index: ChunkIndex) -> [Placement] {
        var position: [ChunkID: Int] = [:]
        var result: [Placement] = []
        for i in 0..<index.count {
            let entry = index.entries[i]
            if let p = position[entry.id] {
                result[p].offsets.append(index.start(of: i))
            } else {
                position[entry.id] = result.count
                result.append(Placement(id: entry.id, size: index.size(of: i), offsets: [index.start(of: i)]))
            }
        }
        return result
    }

    /// Placements a worker takes at once: consecutive ones, so each worker's output run (OutputRun)
    /// grows to a megabyte or more before it is written.
    static let batch = 32

    static func write(
        index: ChunkIndex, store: any ChunkStore, seeds sources: SeedSources, into output: PartialFile, workers: Int,
        progress: (@Sendable (Int) -> Void)?
    ) throws(ExtractError) -> ExtractStatistics {
        let work = placements(index)
        let digest = index.digest
        let zeroID = index.entries.isEmpty ? nil : zeroChunkID(size: Int(index.chunkSizeMax), digest: digest)
        let next = Atomic<Int>(0)
        let outcome = SanitizedMutex<(ExtractStatistics, [ChunkStoreError], FileIOError?)>((ExtractStatistics(), [], nil))
        DispatchQueue.concurrentPerform(iterations: max(1, workers)) { _ in
            let loader = ChunkLoader(store: store, digest: digest, maxChunkSize: Int(index.chunkSizeMax))
            let run = OutputRun(output: output, hasher: loader.hasher, maxChunkSize: Int(index.chunkSizeMax))
            var local = ExtractStatistics()
            var failures: [ChunkStoreError] = []
            var fileFailure: FileIOError?
            batches: while fileFailure == nil {
                let first = next.wrappingAdd(batch, ordering: .relaxed).oldValue
                if first >= work.count { break }
                for k in first..<min(first + batch, work.count) {
                    let placement = work[k]
                    local.chunks += placement.offsets.count
                    local.bytes += UInt64(placement.size * placement.offsets.count)
                    defer { progress?(placement.size * placement.offsets.count) }
                    if placement.id == zeroID && placement.size == Int(index.chunkSizeMax) {
                        local.chunksOfZeros += placement.offsets.count
                        continue
                    }
                    let destination: UnsafeMutableRawPointer
                    switch run.slot(at: placement.offsets[0], size: placement.size) {
                    case .success(let pointer): destination = pointer
                    case .failure(let error): fileFailure = error; break batches
                    }
                    // A seed's bytes were verified by `sources`; the store's are verified by the run.
                    var unverified: ChunkID? = nil
                    if let seeded = sources.bytes(of: placement.id, size: placement.size, hasher: loader.hasher) {
                        destination.copyMemory(from: seeded.baseAddress!, byteCount: seeded.count)
                        local.chunksFromSeeds += placement.offsets.count
                    } else {
                        if sources.holds(placement.id) { local.seedMismatches += 1 }
                        do throws(ChunkStoreError) {
                            try loader.load(placement.id, size: placement.size, into: destination)
                            local.chunksFromStore += placement.offsets.count
                            unverified = placement.id
                        } catch {
                            failures.append(error)
                            continue
                        }
                    }
                    run.append(placement.size, id: unverified, alsoAt: placement.offsets.dropFirst())
                }
            }
            if fileFailure == nil { fileFailure = run.flush() }
            failures.append(contentsOf: run.failures)
            outcome.withLock { state in
                state.0.chunks += local.chunks
                state.0.chunksFromStore += local.chunksFromStore
                state.0.chunksFromSeeds += local.chunksFromSeeds
                state.0.chunksOfZeros += local.chunksOfZeros
                state.0.seedMismatches += local.seedMismatches
                state.0.bytes += local.bytes
                state.1.append(contentsOf: failures)
                if state.2 == nil { state.2 = fileFailure }
            }
        }
        let (statistics, failures, fileFailure) = outcome.withLock { $0 }
        if let fileFailure { throw .file(fileFailure) }
        if let first = failures.min(by: { "\($0)" < "\($1)" }) {
            throw .chunk(first, moreFailures: failures.count - 1)
        }
        return statistics
    }

    static func zeroChunkID(size: Int, digest: ChunkDigest) -> ChunkID {
        digest.id(of: [UInt8](repeating: 0, count: size))
    }

    /// The existing target as a seed: its chunks (cut with the index's parameters) whose sizes the
    /// index needs, hashed so they can be found by ID.
    static func targetSpans(_ file: MappedFile, for index: ChunkIndex, workers: Int) -> SeedSources.File? {
        guard file.count > 0, let parameters = index.parameters else { return nil }
        let neededSizes = Set((0..<index.count).map { index.size(of: $0) })
        let cuts = ParallelChunker.cuts(file.bytes, parameters: parameters, workers: workers)
        let wanted = cuts.indices.filter { neededSizes.contains($0 == 0 ? cuts[0] : cuts[$0] - cuts[$0 - 1]) }
        let spans = SanitizedMutex<[SeedSources.Span]>([])
        let shared = SharedBytes(bytes: file.bytes)
        let digest = index.digest
        let stride = max(1, workers)
        // Each worker hashes every stride-th batch of 32 chunks, together (the hasher's lanes).
        let batch = 32
        DispatchQueue.concurrentPerform(iterations: stride) { worker in
            var found: [SeedSources.Span] = []
            let hasher = ChunkHasher(digest)
            for first in Swift.stride(from: worker * batch, to: wanted.count, by: stride * batch) {
                let taken = wanted[first..<min(first + batch, wanted.count)]
                let starts = taken.map { k in k == 0 ? 0 : cuts[k - 1] }
                let chunks = zip(taken, starts).map { k, start in UnsafeRawBufferPointer(rebasing: shared.bytes[start..<cuts[k]]) }
                for ((k, start), id) in zip(zip(taken, starts), hasher.ids(of: chunks)) {
                    found.append(SeedSources.Span(id: id, start: start, size: cuts[k] - start))
                }
            }
            spans.withLock { $0.append(contentsOf: found) }
        }
        return SeedSources.File(file: file, spans: spans.withLock { $0 }.sorted { $0.start < $1.start })
    }
}

/// Where seeds hold chunks. A seed's bytes are trusted only after they hash to the wanted ID.
struct SeedSources: Sendable {
    struct Span: Sendable {
        let id: ChunkID
        let start: Int
        let size: Int
    }

    struct File: Sendable {
        let file: MappedFile
        let spans: [Span]

        init(file: MappedFile, spans: [Span]) {
            self.file = file
            self.spans = spans
        }

        init(_ seed: Seed) {
            file = seed.file
            spans = (0..<seed.index.count).map { i in
                Span(id: seed.index.entries[i].id, start: Int(seed.index.start(of: i)), size: seed.index.size(of: i))
            }
        }
    }

    private let files: [File]
    private let location: [ChunkID: (file: Int, span: Int)]

    init(_ files: [File]) {
        self.files = files
        var location: [ChunkID: (file: Int, span: Int)] = [:]
        for (f, file) in files.enumerated() {
            for (s, span) in file.spans.enumerated() where location[span.id] == nil && span.start + span.size <= file.file.count {
                location[span.id] = (f, s)
            }
        }
        self.location = location
    }

    func holds(_ id: ChunkID) -> Bool { location[id] != nil }

    /// The seed's bytes for `id`, if a seed holds a chunk of that size whose bytes hash to `id`. They are
    /// the seed file's mapping, valid as long as these sources.
    func bytes(of id: ChunkID, size: Int, hasher: ChunkHasher) -> UnsafeRawBufferPointer? {
        guard let (f, s) = location[id] else { return nil }
        let span = files[f].spans[s]
        guard span.size == size else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: files[f].file.bytes[span.start..<(span.start + span.size)])
        guard hasher.id(of: bytes) == id else { return nil }
        return bytes
    }
}

// The contract every chunk store keeps, as one check that each implementation runs (GRDB tests its
// queue and pool with the same suite). Returns the broken promises; empty means conforming.
import Chunks
import Dispatch
import Locks

public func checkPrunableChunkStore(_ store: some PrunableChunkStore) -> [String] {
    var problems: [String] = []
    let codec = ChunkCodec()
    let data = randomBytes(10_000, seed: 42)
    let id = ChunkDigest.sha512_256.id(of: data)
    let chunk = data.withUnsafeBytes { codec.encode($0, id: id, form: store.form) }

    do throws(ChunkStoreError) {
        if try store.contains(id) { problems.append("contains() is true before store()") }
        do throws(ChunkStoreError) {
            _ = try store.chunk(id)
            problems.append("chunk() of an absent chunk did not throw")
        } catch .missing(let missing) {
            if missing != id { problems.append("missing names \(missing), not \(id)") }
        } catch {
            problems.append("chunk() of an absent chunk threw \(error), not .missing")
        }
        try store.store(chunk)
        try store.store(chunk)  // idempotent
        if try !store.contains(id) { problems.append("contains() is false after store()") }
        let read = try store.chunk(id)
        if read.form != store.form { problems.append("read back form \(read.form), stored \(store.form)") }
        if try codec.decode(read, digest: .sha512_256, expectedSize: data.count) != data {
            problems.append("read back different bytes")
        }
        if try store.allChunkIDs() != [id] { problems.append("allChunkIDs() is not exactly the stored chunk") }
        try store.remove(id)
        try store.remove(id)  // removing an absent chunk is fine
        if try store.contains(id) { problems.append("contains() is true after remove()") }

        // Many writers of overlapping chunks at once: every chunk ends up whole, once.
        let chunks = (0..<16).map { (i: Int) -> StoredChunk in
            let bytes = randomBytes(3000 + i, seed: UInt64(i))
            return bytes.withUnsafeBytes { codec.encode($0, id: ChunkDigest.sha512_256.id(of: $0), form: store.form) }
        }
        let failures = SanitizedMutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for k in stride(from: worker, to: chunks.count * 8, by: 8) {
                do { try store.store(chunks[k % chunks.count]) } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        problems += failures.withLock { $0 }
        let listed = try store.allChunkIDs()
        if listed.count != chunks.count || Set(listed) != Set(chunks.map(\.id)) {
            problems.append("concurrent writes left \(listed.count) chunks, expected \(chunks.count)")
        }
        for c in chunks where (try? codec.decode(store.chunk(c.id), digest: .sha512_256)) == nil {
            problems.append("chunk \(c.id) unreadable after concurrent writes")
        }
    } catch {
        problems.append("unexpected error: \(error)")
    }
    return problems
}

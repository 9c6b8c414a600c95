// Chunk IDs on the hot paths (extract, make, chop), through the system's OpenSSL libcrypto when it
// can be loaded, else through ChunkDigest (swift-crypto's BoringSSL).
//
// Why: hashing is two thirds of extract's CPU time, and BoringSSL has only an AVX SHA-512 kernel,
// while OpenSSL 3 has an AVX2 one: on this machine's Xeon cores 566 against ~500 MB/s per core for
// SHA-512/256 (`openssl speed -evp sha512-256 -bytes 65536` against kura-bench's figure). casync hashes
// with OpenSSL too. The library is looked up at run time (dlopen), so kura still runs where it is
// absent, and its answers are checked against swift-crypto once before it is trusted.
//
// Many chunks at once go eight abreast through AVX-512 lanes where the CPU has them (CSHA512):
// one SHA-512 stream cannot use the vector unit for its rounds, eight independent ones can.
import CSHA512
import Chunks

#if canImport(Glibc)
import Glibc
#endif

/// One per thread: it owns an OpenSSL digest context, reused for every chunk.
public final class ChunkHasher {
    public let digest: ChunkDigest
    private let openSSL: (library: OpenSSLDigests, context: OpaquePointer, md: OpaquePointer)?

    public init(_ digest: ChunkDigest) {
        self.digest = digest
        if let library = OpenSSLDigests.shared, let context = library.newContext() {
            openSSL = (library, context, library.md(digest))
        } else {
            openSSL = nil
        }
    }

    deinit {
        if let openSSL { openSSL.library.freeContext(openSSL.context) }
    }

    /// Whether the OpenSSL path is in use (for benchmark notes and tests).
    public var usesOpenSSL: Bool { openSSL != nil }

    /// Whether `ids(of:)` hashes in vector lanes on this CPU (SHA-512/256 with AVX-512).
    public var usesLanes: Bool { digest == .sha512_256 && Self.lanes }

    /// Checked once: the CPU has AVX-512, the lanes agree with swift-crypto on sizes around the
    /// block and padding edges, and the environment does not set KURA_HASH_LANES=0 (an operator's
    /// switch, to compare or to rule the lanes out; the tests use it to run the one-stream paths).
    static let lanes: Bool = {
        let off = getenv("KURA_HASH_LANES").map { String(cString: $0) == "0" } ?? false
        guard !off, kura_sha512x8_available() != 0 else { return false }
        let sizes = [0, 1, 111, 112, 127, 128, 129, 239, 240, 256, 1000]
        return selfTestSample.withUnsafeBytes { all in
            let chunks = sizes.map { UnsafeRawBufferPointer(rebasing: all[0..<$0]) }
            return laneIDs(of: chunks) == chunks.map { ChunkDigest.sha512_256.id(of: $0) }
        }
    }()

    /// 1000 bytes with no repeating pattern short of 256, for the checks against swift-crypto.
    static let selfTestSample = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }

    /// Lanes pay when several chunks share them; a chunk or two go faster through one stream.
    static let fewestForLanes = 3

    /// The IDs of `chunks`, in order; the same as `id(of:)` on each.
    public func ids(of chunks: [UnsafeRawBufferPointer]) -> [ChunkID] {
        guard usesLanes, chunks.count >= Self.fewestForLanes else { return chunks.map { id(of: $0) } }
        return Self.laneIDs(of: chunks)
    }

    private static func laneIDs(of chunks: [UnsafeRawBufferPointer]) -> [ChunkID] {
        let messages = chunks.map { UnsafeRawPointer($0.baseAddress) }
        let lengths = chunks.map(\.count)
        var words = [UInt64](repeating: 0, count: 4 * chunks.count)
        words.withUnsafeMutableBufferPointer { out in
            kura_sha512_256_many(messages, lengths, chunks.count, out.baseAddress!)
        }
        return (0..<chunks.count).map { i in
            ChunkID(words: (words[4 * i], words[4 * i + 1], words[4 * i + 2], words[4 * i + 3]))
        }
    }

    public func id(of bytes: UnsafeRawBufferPointer) -> ChunkID {
        guard let (library, context, md) = openSSL else { return digest.id(of: bytes) }
        guard let id = library.hash(bytes, context: context, md: md) else {
            // A failing EVP call is a broken library, not bad input: answer with swift-crypto.
            return digest.id(of: bytes)
        }
        return id
    }
}

/// SHA-512/256 lanes kept full across calls (CSHA512's stream), for chunks that arrive one at a time.
/// One per thread.
final class LaneStream {
    private let stream: OpaquePointer

    /// nil unless the digest is SHA-512/256 and the CPU has lanes.
    init?(_ digest: ChunkDigest) {
        guard digest == .sha512_256, ChunkHasher.lanes else { return nil }
        stream = kura_sha512x8_stream_new()
    }

    deinit { kura_sha512x8_stream_free(stream) }

    /// Queues `bytes`; their digest's four words go to `digest` by the time `finish(through:)` passes
    /// the returned ticket. Both must stay valid until then.
    func add(_ bytes: UnsafeRawBufferPointer, digest: UnsafeMutablePointer<UInt64>) -> UInt64 {
        kura_sha512x8_stream_add(stream, bytes.baseAddress, bytes.count, digest)
    }

    func finish(through ticket: UInt64) {
        kura_sha512x8_stream_finish(stream, ticket)
    }
}

/// The few libcrypto 3 entry points a digest needs, resolved once.
struct OpenSSLDigests: @unchecked Sendable {
    // Safe to share: function pointers and two fetched EVP_MD objects, which OpenSSL documents as
    // usable from many threads at once; contexts are per ChunkHasher.
    typealias Fetch = @convention(c) (OpaquePointer?, UnsafePointer<CChar>, UnsafePointer<CChar>?) -> OpaquePointer?
    typealias NewContext = @convention(c) () -> OpaquePointer?
    typealias FreeContext = @convention(c) (OpaquePointer?) -> Void
    typealias Initialise = @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?) -> Int32
    typealias Update = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32
    typealias Final = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt32>?) -> Int32

    let newContext: NewContext
    let freeContext: FreeContext
    let initialise: Initialise
    let update: Update
    let final: Final
    let sha512_256: OpaquePointer
    let sha256: OpaquePointer

    /// nil when libcrypto.so.3 is missing, lacks a symbol or a digest, or answers wrongly.
    static let shared: OpenSSLDigests? = {
        guard let handle = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL) else { return nil }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let fetch = symbol("EVP_MD_fetch", Fetch.self),
            let newContext = symbol("EVP_MD_CTX_new", NewContext.self),
            let freeContext = symbol("EVP_MD_CTX_free", FreeContext.self),
            let initialise = symbol("EVP_DigestInit_ex2", Initialise.self),
            let update = symbol("EVP_DigestUpdate", Update.self),
            let final = symbol("EVP_DigestFinal_ex", Final.self),
            let sha512_256 = fetch(nil, "SHA2-512/256", nil),
            let sha256 = fetch(nil, "SHA2-256", nil)
        else { return nil }
        let library = OpenSSLDigests(
            newContext: newContext, freeContext: freeContext, initialise: initialise, update: update, final: final,
            sha512_256: sha512_256, sha256: sha256)
        return library.agreesWithSwiftCrypto() ? library : nil
    }()

    func md(_ digest: ChunkDigest) -> OpaquePointer {
        switch digest {
        case .sha512_256: sha512_256
        case .sha256: sha256
        }
    }

    func hash(_ bytes: UnsafeRawBufferPointer, context: OpaquePointer, md: OpaquePointer) -> ChunkID? {
        guard initialise(context, md, nil) == 1, update(context, bytes.baseAddress, bytes.count) == 1 else { return nil }
        var output = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var length: UInt32 = 0
        let ok = withUnsafeMutableBytes(of: &output) { raw in
            final(context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1
        }
        guard ok, length == 32 else { return nil }
        // The words are the digest's bytes read big-endian (ChunkID's generic init costs a few µs).
        return ChunkID(words: (UInt64(bigEndian: output.0), UInt64(bigEndian: output.1), UInt64(bigEndian: output.2), UInt64(bigEndian: output.3)))
    }

    /// Both digests on a few sizes (empty, one block, several blocks and a tail) must match swift-crypto.
    private func agreesWithSwiftCrypto() -> Bool {
        guard let context = newContext() else { return false }
        defer { freeContext(context) }
        for digest in ChunkDigest.allCases {
            for size in [0, 3, 128, 1000] {
                let ok = ChunkHasher.selfTestSample.withUnsafeBytes { all in
                    let bytes = UnsafeRawBufferPointer(rebasing: all[0..<size])
                    return hash(bytes, context: context, md: md(digest)) == digest.id(of: bytes)
                }
                if !ok { return false }
            }
        }
        return true
    }
}

// The digest that names chunks. casync records the choice in the index's SHA512_256 feature bit;
// a chunk ID never says which algorithm made it, so every reader must take it from the index.
import Crypto
import CryptoExtras

public enum ChunkDigest: String, Sendable, CaseIterable {
    /// casync's and desync's default.
    case sha512_256 = "sha512-256"
    /// `casync --digest=sha256`, `desync --digest sha256`; about 2.5× faster here (SHA-NI).
    case sha256 = "sha256"

    /// The digest an index with these feature flags uses.
    public init(featureFlags: UInt64) {
        self = featureFlags & ChunkIndex.Flags.sha512_256 != 0 ? .sha512_256 : .sha256
    }

    public func id(of bytes: UnsafeRawBufferPointer) -> ChunkID {
        switch self {
        case .sha512_256:
            var hasher = SHA512256()
            hasher.update(bufferPointer: bytes)
            return hasher.finalize().withUnsafeBytes { ChunkID(bytes: $0) }
        case .sha256:
            var hasher = SHA256()
            hasher.update(bufferPointer: bytes)
            return hasher.finalize().withUnsafeBytes { ChunkID(bytes: $0) }
        }
    }

    public func id(of bytes: [UInt8]) -> ChunkID {
        bytes.withUnsafeBytes { id(of: $0) }
    }

    /// A whole-blob digest computed incrementally (what `casync make` prints).
    public struct Hasher {
        private var sha512_256: SHA512256?
        private var sha256: SHA256?

        public init(_ digest: ChunkDigest) {
            switch digest {
            case .sha512_256: sha512_256 = SHA512256()
            case .sha256: sha256 = SHA256()
            }
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            sha512_256?.update(bufferPointer: bytes)
            sha256?.update(bufferPointer: bytes)
        }

        public func finalize() -> ChunkID {
            if let sha512_256 { return sha512_256.finalize().withUnsafeBytes { ChunkID(bytes: $0) } }
            return sha256!.finalize().withUnsafeBytes { ChunkID(bytes: $0) }
        }
    }
}

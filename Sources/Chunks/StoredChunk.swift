// A chunk as a store keeps it. The form is told by the file name, as in casync: `<id>.cacnk` holds
// one zstd frame of the chunk, a bare `<id>` holds the raw bytes. Both may sit in one store.

public enum ChunkForm: Sendable, Hashable {
    case compressed
    case uncompressed

    /// The file-name suffix casync and desync use for this form.
    public var fileExtension: String {
        switch self {
        case .compressed: ".cacnk"
        case .uncompressed: ""
        }
    }
}

public struct StoredChunk: Sendable, Equatable {
    /// The digest of the uncompressed bytes; stored bytes are never trusted to match it until decoded.
    public let id: ChunkID
    public let form: ChunkForm
    public let bytes: [UInt8]

    public init(id: ChunkID, form: ChunkForm, bytes: [UInt8]) {
        self.id = id
        self.form = form
        self.bytes = bytes
    }
}

// desync's HTTP chunk-store protocol, as a pure function from a request line to what to do.
// A chunk lives at `/<first 4 hex digits of its ID>/<ID><ext>`, where the extension *is* the form
// (`.cacnk` compressed, none for uncompressed): no content negotiation, as in desync and casync's
// HTTP helper, so any static web server over a store directory speaks the same protocol.
// GET and HEAD read, PUT writes (when the server is writable); anything else is refused.
import Chunks

public enum ChunkRequest: Equatable, Sendable {
    case get(ChunkID)
    case head(ChunkID)
    case put(ChunkID)
}

/// A refusal with its HTTP status and a message naming what was wrong.
public struct ChunkRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }
}

public enum ChunkRoute {
    /// The request for `method` and `uri` on a server of chunks in `form`, or why not.
    public static func parse(method: String, uri: String, form: ChunkForm, writable: Bool) -> Result<ChunkRequest, ChunkRefusal> {
        // Query and fragment are no part of a chunk's name (casync's helper strips them too).
        let path = uri.prefix { $0 != "?" && $0 != "#" }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty else {
            return .failure(ChunkRefusal(400, "not a chunk path: \(path) (expected /<4 hex>/<64 hex>\(form.fileExtension))"))
        }
        let (prefix, name) = (parts[1], parts[2])
        let ext = form.fileExtension
        guard name.hasSuffix(ext), name.count == 64 + ext.count else {
            return .failure(ChunkRefusal(400, "invalid chunk name \(name): this server holds \(form == .compressed ? "compressed chunks (<id>.cacnk)" : "uncompressed chunks (<id>, no extension)")"))
        }
        let hex = name.prefix(64)
        guard let id = ChunkID(hex: hex) else {
            return .failure(ChunkRefusal(400, "invalid chunk ID \(hex): 64 hex digits expected"))
        }
        guard prefix.lowercased() == String(id.hex.prefix(4)) else {
            return .failure(ChunkRefusal(400, "chunk \(id) belongs under /\(id.hex.prefix(4))/, not /\(prefix)/"))
        }
        switch method {
        case "GET": return .success(.get(id))
        case "HEAD": return .success(.head(id))
        case "PUT":
            guard writable else { return .failure(ChunkRefusal(403, "this chunk server is read-only (start it with -w to accept PUT)")) }
            return .success(.put(id))
        default:
            return .failure(ChunkRefusal(405, "method \(method) not allowed: GET, HEAD or PUT"))
        }
    }
}

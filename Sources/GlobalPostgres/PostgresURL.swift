// `postgres://user:password@host:port/database?sslmode=require&dialect=cockroach` (also
// `postgresql://` and `cockroachdb://`, which selects the CockroachDB dialect).
import Foundation
import GlobalDatabase
import PostgresNIO

struct PostgresURL {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String?
    var tls: TLSMode
    var dialect: SQLDialect

    enum TLSMode: String { case disable, prefer, require }

    init(_ text: String) throws(GlobalDatabaseError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme,
            ["postgres", "postgresql", "cockroachdb"].contains(scheme), let host = url.host, !host.isEmpty
        else { throw .malformedURL(text) }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        guard let tls = TLSMode(rawValue: query["sslmode"] ?? "disable") else { throw .malformedURL(text) }
        let dialectName = query["dialect"] ?? (scheme == "cockroachdb" ? "cockroach" : "postgres")
        guard let dialect = SQLDialect(rawValue: dialectName), dialect != .sqlite else { throw .malformedURL(text) }
        self.host = host
        port = url.port ?? (dialect == .cockroach ? 26257 : 5432)
        user = url.user ?? "postgres"
        password = url.password
        let path = url.path.drop { $0 == "/" }
        database = path.isEmpty ? nil : String(path)
        self.tls = tls
        self.dialect = dialect
    }

    var redacted: String { "\(user)@\(host):\(port)/\(database ?? "")" }

    var connection: PostgresConnection.Configuration {
        let tlsConfig: PostgresConnection.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(try! NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try! NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        return PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsConfig)
    }

    var client: PostgresClient.Configuration {
        let tlsConfig: PostgresClient.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        return PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsConfig)
    }
}

public import PostgresNIO
import Foundation

/// Turns a `postgres://user:password@host:port/database?sslmode=…` URL into a client configuration.
public enum DatabaseURL {
    /// Parses `url`. A URL that names several hosts, as libpq spells it
    /// (`postgres://USER@h1:5432,h2:5432/DB?target_session_attrs=read-write`), gets a configuration
    /// that connects through this process's ``PrimaryRouter`` for those hosts: each new connection
    /// goes to the one that is the primary then (`read-write`), or to the first that answers (`any`,
    /// libpq's default).
    /// - Throws: ``DatabaseURLError`` naming what is wrong, without echoing the password.
    public static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        let (firstHostURL, hosts) = try splitHosts(url)
        let configuration = try singleHostConfiguration(firstHostURL)
        let query = URLComponents(string: firstHostURL)?.queryItems ?? []
        let attributes = query.first(where: { $0.name == "target_session_attrs" })?.value ?? "any"
        let targetSessionAttributes: String
        switch attributes {
        case "any": targetSessionAttributes = "any"
        case "read-write", "primary": targetSessionAttributes = "read-write"
        default: throw DatabaseURLError("DATABASE_URL target_session_attrs '\(attributes)' is not one of any, read-write, primary")
        }
        guard hosts.count > 1 else { return configuration }
        let router = try PrimaryRouter.shared(hosts: hosts, login: .init(
            username: configuration.username, password: configuration.password, database: configuration.database,
            sslMode: query.first(where: { $0.name == "sslmode" })?.value ?? "prefer",
            targetSessionAttributes: targetSessionAttributes))
        var routed = PostgresClient.Configuration(
            host: "127.0.0.1", port: router.port, username: configuration.username, password: configuration.password,
            database: configuration.database, tls: configuration.tls)
        routed.options = configuration.options
        // The certificate names the servers, not the router.
        routed.options.tlsServerName = hosts[0].name
        return routed
    }

    /// Where `configuration` connects, as its user wrote it: `host:port`, or for a host list (which
    /// connects through this process's ``PrimaryRouter`` on 127.0.0.1) every host of the list.
    public static func serverDescription(_ configuration: PostgresClient.Configuration) -> String {
        let host = configuration.host ?? "localhost", port = configuration.port ?? 5432
        guard host == "127.0.0.1", let hosts = PrimaryRouter.hosts(forwardedFrom: port) else { return "\(host):\(port)" }
        return hosts.map(\.description).joined(separator: ",")
    }

    /// The URL with only its first host, and every host it names (none for a plain URL).
    static func splitHosts(_ url: String) throws -> (firstHostURL: String, hosts: [PrimaryRouter.Host]) {
        guard let schemeEnd = url.range(of: "://") else { return (url, []) }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hostList = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        guard hostList.contains(",") else { return (url, []) }
        let hosts = try hostList.split(separator: ",", omittingEmptySubsequences: false).map { entry -> PrimaryRouter.Host in
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard !entry.isEmpty, parts.count <= 2, !parts[0].isEmpty else {
                throw DatabaseURLError("DATABASE_URL host '\(entry)' is not HOST or HOST:PORT (hosts are separated by commas)")
            }
            guard let port = parts.count == 2 ? Int(parts[1]) : 5432, (1...65535).contains(port) else {
                throw DatabaseURLError("DATABASE_URL host '\(entry)' has no valid port")
            }
            return PrimaryRouter.Host(name: String(parts[0]), port: port)
        }
        let first = url[..<hostList.startIndex] + "\(hosts[0].name):\(hosts[0].port)" + url[authorityEnd...]
        return (String(first), hosts)
    }

    private static func singleHostConfiguration(_ url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw DatabaseURLError("DATABASE_URL is not a URL: expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw DatabaseURLError("DATABASE_URL must start with postgres:// (got \(scheme)://)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw DatabaseURLError("DATABASE_URL has no host: expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw DatabaseURLError("DATABASE_URL has no user: expected postgres://USER@HOST:PORT/DATABASE")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw DatabaseURLError("DATABASE_URL port \(port) is out of range") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let sslMode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw DatabaseURLError("DATABASE_URL sslmode '\(sslMode)' is not one of disable, prefer, require")
        }
        _ = try pooling(components)
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// Whether the URL says the server is reached through a pooler in transaction mode
    /// (`?pooling=transaction`, PgBouncer's `pool_mode = transaction`): then nothing may rely on a
    /// session — no LISTEN, no named prepared statements.
    public static func transactionPooling(_ url: String) throws -> Bool {
        guard let components = URLComponents(string: url) else { return false }
        return try pooling(components)
    }

    private static func pooling(_ components: URLComponents) throws -> Bool {
        switch components.queryItems?.first(where: { $0.name == "pooling" })?.value ?? "session" {
        case "session": return false
        case "transaction": return true
        case let other: throw DatabaseURLError("DATABASE_URL pooling '\(other)' is not one of session, transaction")
        }
    }
}

/// A malformed database URL.
public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    /// One line for people.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

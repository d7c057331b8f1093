public import PostgresNIO
import Foundation

/// Turns a `postgres://user:password@host:port/database?sslmode=…` URL into a client configuration.
public enum DatabaseURL {
    /// Parses `url`.
    /// - Throws: ``DatabaseURLError`` naming what is wrong, without echoing the password.
    public static func configuration(_ url: String) throws -> PostgresClient.Configuration {
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

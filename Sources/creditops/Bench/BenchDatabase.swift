import CreditWorkers
import EmbeddedPostgres
import Foundation
import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// Where benchmarks run: a database of their own, so that a measurement never touches real data
/// and always starts from an empty, freshly migrated schema.
enum BenchDatabase {
    /// The server to measure on: DATABASE_URL's, or a private durable one (fsync and synchronous
    /// commit on, as in production) in a temporary folder, which the caller stops.
    static func server(_ database: DatabaseOptions, logger: Logger) async throws -> (String, EmbeddedPostgres?) {
        if let url = try? database.url() { return (url, nil) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-bench-\(getpid())").path
        let postgres = EmbeddedPostgres(
            configuration: .init(dataDirectory: folder, durability: .durable, removeWhenProcessExits: true), logger: logger)
        return (try await postgres.start().url + "?sslmode=disable", postgres)
    }

    /// Runs `body` with the URL of a fresh `creditops_bench` database on the server to measure
    /// on, stopping a private server afterwards whatever happens.
    static func with<T>(_ database: DatabaseOptions, logger: Logger, _ body: (String) async throws -> T) async throws -> T {
        let (serverURL, embedded) = try await server(database, logger: logger)
        do {
            let result = try await body(try await prepare(serverURL: serverURL, logger: logger))
            try await embedded?.stop()
            return result
        } catch {
            try? await embedded?.stop()
            throw error
        }
    }

    /// Creates `creditops_bench` on the server (dropping any old one), migrates it and returns its URL.
    static func prepare(serverURL: String, logger: Logger) async throws -> String {
        try await withDatabase(try DatabaseURL.configuration(serverURL), logger: logger) { client in
            try await client.query("DROP DATABASE IF EXISTS creditops_bench WITH (FORCE)", logger: logger)
            try await client.query("CREATE DATABASE creditops_bench", logger: logger)
        }
        guard var components = URLComponents(string: serverURL) else { throw CLIError("bad database URL") }
        components.path = "/creditops_bench"
        let url = components.string!
        _ = try await withDatabase(try DatabaseURL.configuration(url), logger: logger) { client in
            try await SchemaMigrator(client: client, logger: logger).migrate()
        }
        return url
    }
}

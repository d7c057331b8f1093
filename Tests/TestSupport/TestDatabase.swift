import CreditWorkers
import EmbeddedPostgres
import Logging
public import PostgresNIO
import Foundation

/// A fresh database for one test, cloned from a migrated template on the run's one private
/// PostgreSQL server (or on `TEST_DATABASE_URL`'s server when set), so tests may run in parallel
/// without seeing each other's rows.
public struct TestDatabase: Sendable {
    /// The database's name.
    public let name: String
    /// `postgres://…` for this database, to hand to spawned processes as `DATABASE_URL`.
    public let url: String
    /// A client configuration for it.
    public let configuration: PostgresClient.Configuration

    /// Runs `body` with a running client on a new database, then drops the database.
    /// - Parameter migrated: false for an empty database, to test migrations themselves.
    public static func withDatabase<T: Sendable>(
        migrated: Bool = true, _ body: @Sendable (PostgresClient, TestDatabase) async throws -> T
    ) async throws -> T {
        try await TestSlots.shared.holding { try await withSlot(migrated: migrated, body) }
    }

    private static func withSlot<T: Sendable>(
        migrated: Bool, _ body: @Sendable (PostgresClient, TestDatabase) async throws -> T
    ) async throws -> T {
        let database = try await TestCluster.shared.createDatabase(migrated: migrated)
        let client = PostgresClient(configuration: database.configuration, backgroundLogger: TestCluster.quietLogger)
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return try await body(client, database)
            }
            await TestCluster.shared.dropDatabase(database.name)
            return result
        } catch {
            await TestCluster.shared.dropDatabase(database.name)
            throw error
        }
    }
}

/// The run's one server and template database, made on first use.
actor TestCluster {
    static let shared = TestCluster()
    static let quietLogger = Logger(label: "creditops.test") { _ in SwiftLogNoOpLogHandler() }

    private var admin: Task<(url: URLComponents, configuration: PostgresClient.Configuration), any Error>?
    private var server: EmbeddedPostgres?
    private let template = "creditops_template_\(ProcessInfo.processInfo.processIdentifier)"

    func createDatabase(migrated: Bool) async throws -> TestDatabase {
        let admin = try await prepare()
        let name = "t_\(ProcessInfo.processInfo.processIdentifier)_\(UInt64.random(in: 0...UInt64.max))"
        // The template may still show the backend of the migration's last connection for a moment
        // on a loaded machine ("being accessed by other users", 55006), and at a peak of parallel
        // tests the server may be full (53300): wait, boundedly.
        var attempt = 0
        while true {
            do {
                try await Self.adminQuery(admin.configuration, "CREATE DATABASE \(name) TEMPLATE \(migrated ? template : "template0")")
                break
            } catch let error as PSQLError where ["55006", "53300"].contains(error.serverInfo?[.sqlState]) && attempt < 50 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(200))
            } catch {
                throw TestDatabaseFailure(description: "CREATE DATABASE \(name): \(String(reflecting: error))")
            }
        }
        var components = admin.url
        components.path = "/" + name
        var configuration = admin.configuration
        configuration.database = name
        return TestDatabase(name: name, url: components.string!, configuration: configuration)
    }

    /// Drops a test's database, trying a few times on a loaded machine; one left behind costs
    /// nothing (the throwaway cluster goes with the run) and must not fail a test that passed.
    func dropDatabase(_ name: String) async {
        guard let admin = try? await admin?.value else { return }
        for attempt in 1...5 {
            do {
                try await Self.adminQuery(admin.configuration, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                return
            } catch {
                if attempt < 5 { try? await Task.sleep(for: .milliseconds(500 * attempt)) }
            }
        }
    }

    /// The first caller starts the server; the others, arriving while it starts (actor calls
    /// interleave at each await), wait for the same start. The one unstructured task of the
    /// tests: it must outlive whichever test happened to come first.
    private func prepare() async throws -> (url: URLComponents, configuration: PostgresClient.Configuration) {
        if let admin { return try await admin.value }
        let task = Task { try await self.startServer() }
        admin = task
        do {
            return try await task.value
        } catch {
            // Not kept: one failed start (a loaded machine's time-out) must not fail every later test.
            admin = nil
            throw TestDatabaseFailure(description: "starting the tests' PostgreSQL: \(String(reflecting: error))")
        }
    }

    private func startServer() async throws -> (url: URLComponents, configuration: PostgresClient.Configuration) {
        let url: String
        if let given = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !given.isEmpty {
            url = given
        } else {
            let folder = FileManager.default.temporaryDirectory
                .appendingPathComponent("creditops-test-\(ProcessInfo.processInfo.processIdentifier)").path
            // A retry after a failed start reuses the server it may have started.
            let server = self.server ?? EmbeddedPostgres(
                // Every suite runs in parallel, many with worker processes of their own: room for all.
                configuration: .init(dataDirectory: folder, durability: .throwaway, removeWhenProcessExits: true, maxConnections: 500),
                logger: Self.quietLogger)
            self.server = server
            url = try await server.start().url + "?sslmode=disable"
        }
        let configuration = try DatabaseURL.configuration(url)
        let components = URLComponents(string: url)!  // DatabaseURL accepted it
        try await Self.adminQuery(configuration, "DROP DATABASE IF EXISTS \(template) WITH (FORCE)")
        try await Self.adminQuery(configuration, "CREATE DATABASE \(template)")
        var templateConfiguration = configuration
        templateConfiguration.database = template
        let client = PostgresClient(configuration: templateConfiguration, backgroundLogger: Self.quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await SchemaMigrator(client: client, logger: Self.quietLogger).migrate()
        }
        return (components, configuration)
    }

    /// One statement on a short-lived connection (CREATE/DROP DATABASE cannot run in a pool's
    /// transaction and must not keep the template open).
    static func adminQuery(_ configuration: PostgresClient.Configuration, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: configuration.host ?? "127.0.0.1", port: configuration.port ?? 5432, username: configuration.username,
                password: configuration.password, database: configuration.database, tls: .disable),
            id: 1, logger: quietLogger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Why a test's database could not be had, with the driver's full description (PSQLError's own
/// description hides the server's message).
struct TestDatabaseFailure: Error, CustomStringConvertible {
    let description: String
}

public import EmbeddedPostgres
import CreditWorkers
import Foundation
public import PostgresNIO

/// A primary and a streaming standby of its own (`pg_basebackup -R`), private to one test, with
/// CreditOps' schema migrated on the primary's `postgres` database and streamed to the standby.
///
/// With `synchronous_commit` on, unlike the other tests' servers: off, a commit's WAL waits for the
/// WAL writer, which sometimes did not send it to the standby for 30 s and more (and a standby
/// that has replayed all it received reports no lag); a killed primary would lose commits too.
public struct ReplicatedCluster: Sendable {
    public let primary: EmbeddedPostgres
    public let standby: EmbeddedPostgres
    /// `DATABASE_URL` of each (`?sslmode=disable`).
    public let primaryURL: String
    public let standbyURL: String

    /// The standby's `application_name` on the primary.
    public static let standbyName = "creditops_standby"

    /// Runs `body` with the two servers up, then stops both and removes their folders.
    /// - Parameter synchronous: the primary waits for the standby to have each commit before it
    ///   answers the commit (`synchronous_standby_names`), so that promoting it loses nothing.
    public static func with<T: Sendable>(
        synchronous: Bool = false, _ body: @Sendable (ReplicatedCluster) async throws -> T
    ) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-replicated-\(UUID().uuidString)").path
        let primary = EmbeddedPostgres(
            configuration: .init(dataDirectory: folder + "/primary", durability: .survivesServerCrash, removeWhenProcessExits: true),
            logger: silentLogger)
        var standby: EmbeddedPostgres?
        var failure: (any Error)?
        var result: T?
        do {
            let primaryEndpoint = try await primary.start()
            let primaryURL = primaryEndpoint.url + "?sslmode=disable"
            try await withDatabaseClient(primaryURL) { try await SchemaMigrator(client: $0, logger: silentLogger).migrate() }
            let copy = EmbeddedPostgres(
                configuration: .init(dataDirectory: folder + "/standby", durability: .survivesServerCrash, removeWhenProcessExits: true,
                                     standbyOf: .init(primary: primaryEndpoint, name: standbyName)),
                logger: silentLogger)
            standby = copy
            let standbyURL = try await copy.start().url + "?sslmode=disable"
            try await withDatabaseClient(primaryURL) { client in
                let streaming = try await eventually(timeout: .seconds(30)) {
                    try await client.integer("SELECT count(*) FROM pg_stat_replication WHERE application_name = '\(standbyName)' AND state = 'streaming'") == 1
                }
                guard streaming else { throw ReplicationFailure(description: "the standby did not start streaming within 30 s") }
                guard synchronous else { return }
                try await client.query("ALTER SYSTEM SET synchronous_standby_names = '\(unescaped: standbyName)'", logger: silentLogger)
                try await client.query("SELECT pg_reload_conf()", logger: silentLogger)
                let sync = try await eventually(timeout: .seconds(30)) {
                    try await client.integer("SELECT count(*) FROM pg_stat_replication WHERE application_name = '\(standbyName)' AND sync_state = 'sync'") == 1
                }
                guard sync else { throw ReplicationFailure(description: "the standby did not become synchronous within 30 s") }
            }
            result = try await body(ReplicatedCluster(primary: primary, standby: copy, primaryURL: primaryURL, standbyURL: standbyURL))
        } catch {
            failure = error
        }
        try? await standby?.stop(.immediate)
        try? await primary.stop(.immediate)
        try? FileManager.default.removeItem(atPath: folder)
        if let failure { throw failure }
        return result!
    }

    /// The last lines of both servers' logs, for a failing test's message.
    public func serverLogs() -> String {
        [("primary", primary), ("standby", standby)].map { name, server in
            let log = (try? String(contentsOfFile: server.configuration.dataDirectory + "/server.log", encoding: .utf8)) ?? ""
            return "\(name): " + log.split(separator: "\n").suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

struct ReplicationFailure: Error, CustomStringConvertible {
    let description: String
}

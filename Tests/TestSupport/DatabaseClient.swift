import CreditWorkers
public import PostgresNIO

/// Runs `body` with a client on `url`'s database.
public func withDatabaseClient<T: Sendable>(_ url: String, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
    let client = PostgresClient(configuration: try DatabaseURL.configuration(url), backgroundLogger: silentLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

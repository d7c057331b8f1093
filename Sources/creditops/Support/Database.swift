import CreditWorkers
import Logging
import PostgresNIO

/// Runs `body` with a running client on the configured database. Fails within the connect
/// time-out, with one clear line, when the server cannot be reached.
func withDatabase<T: Sendable>(
    _ configuration: PostgresClient.Configuration, logger: Logger,
    _ body: @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    let client = PostgresClient(configuration: configuration, backgroundLogger: logger.quieter())
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        try await checkReachable(client, configuration: configuration, logger: logger)
        return try await body(client)
    }
}

/// Asks the server for `SELECT 1`, bounded by the connect time-out, so that a wrong address or a
/// server that is down fails fast with one clear line instead of the pool retrying forever.
func checkReachable(_ client: PostgresClient, configuration: PostgresClient.Configuration, logger: Logger) async throws {
    let server = DatabaseURL.serverDescription(configuration)
    let limit = configuration.options.connectTimeout + .seconds(2)
    let outcome: Result<Void, any Error>? = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
        group.addTask {
            do {
                try await client.query("SELECT 1", logger: logger)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        return await group.next() ?? nil
    }
    switch outcome {
    case .success: return
    case .failure(let error): throw CLIError("cannot connect to PostgreSQL at \(server): \(describe(error))")
    case nil: throw CLIError("cannot connect to PostgreSQL at \(server): no answer within \(limit)")
    }
}

extension Logger {
    /// The driver logs every failed connection attempt; a command reports the failure itself once.
    func quieter() -> Logger {
        var copy = self
        copy.logLevel = max(copy.logLevel, .critical)
        return copy
    }
}

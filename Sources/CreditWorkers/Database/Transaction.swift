import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs `body` in a transaction on one connection: COMMIT when it returns, ROLLBACK when it
    /// throws. Unlike PostgresNIO's `withTransaction`, the body's own error comes out as it was
    /// thrown — callers match on ``ImportError`` and the like — rather than inside a
    /// `PostgresTransactionError`.
    func inTransaction<T>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}

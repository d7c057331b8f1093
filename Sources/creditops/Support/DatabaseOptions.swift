public import ArgumentParser
import JobQueue
import CreditWorkers
import Foundation
import Logging
import PostgresNIO

/// Where the database is: `--database-url`, else `DATABASE_URL`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "postgres://USER@HOST:PORT/DATABASE (default: $DATABASE_URL)")
    var databaseURL: String?

    func url() throws -> String {
        if let databaseURL { return databaseURL }
        guard let fromEnvironment = ProcessInfo.processInfo.environment["DATABASE_URL"], !fromEnvironment.isEmpty else {
            throw CLIError("DATABASE_URL is not set: export DATABASE_URL=postgres://USER@HOST:PORT/DATABASE (or run `creditops demo`)")
        }
        return fromEnvironment
    }

    /// The configuration of `url()`; with `?pooling=transaction` it also tells the queue, for the
    /// whole process, to rely on no session (``QueueConnections/transactionPooling``).
    func configuration() throws -> PostgresClient.Configuration {
        do {
            let url = try url()
            let configuration = try DatabaseURL.configuration(url)
            if try DatabaseURL.transactionPooling(url) { QueueConnections.transactionPooling = true }
            return configuration
        } catch let error as DatabaseURLError {
            throw CLIError(error.description)
        }
    }

    /// Runs `body` with a running client on this database (see ``withDatabase(_:logger:_:)``).
    func withClient<T: Sendable>(logger: Logger, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await withDatabase(try configuration(), logger: logger, body)
    }
}

/// Log level and format shared by every command.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical")
    var level: Logger.Level = .info

    func logger(_ label: String = "creditops") -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

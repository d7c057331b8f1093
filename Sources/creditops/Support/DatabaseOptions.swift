public import ArgumentParser
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

    func configuration() throws -> PostgresClient.Configuration {
        do {
            return try DatabaseURL.configuration(try url())
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

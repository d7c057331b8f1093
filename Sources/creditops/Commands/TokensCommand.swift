import ArgumentParser
import CreditWorkers

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create bearer tokens for the API and the dashboards.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token that sees a unit and every unit below it (printed once, alone on the last line).",
            discussion: """
                Only a hash of the token is stored: keep the printed token, it cannot be shown again.
                A --staff token also lists, retries and cancels jobs and opens /ops.

                Example:
                  creditops tokens create --unit T01-H03 --name "Huyện đoàn Phú Xuân"
                """
        )

        @Option(help: "The unit's code.") var unit: String
        @Flag(help: "Allow job management (operations staff).") var staff = false
        @Option(help: "Who the token is for.") var name = ""
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let token = try await database.withClient(logger: logger.quieter()) { client in
                    do {
                        return try await AccessTokens(client: client, logger: logger).create(unitCode: unit, staff: staff, name: name)
                    } catch let error as AccessTokens.Failure {
                        throw CLIError(error.description)
                    }
                }
                printError("Token for \(unit)\(staff ? " (staff)" : ""); it is shown only now:")
                print(token)
            }
        }
    }
}

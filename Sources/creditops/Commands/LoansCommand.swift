import ArgumentParser
import CreditDomain
import CreditWorkers
import PostgresNIO

struct LoansCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loans",
        abstract: "Record a loan-use check, or mark a loan as risk debt or restructured.",
        subcommands: [Check.self, Mark.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that a loan's use was checked (its loan-use reminders stop).",
            discussion: "Example:\n  creditops loans check HD00012345 --on 2026-11-20"
        )

        @Argument(help: "The loan's code.") var loan: String
        @Option(help: "The day of the check, YYYY-MM-DD (default: today in Vietnam).") var on: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func input() throws -> LoanUseCheckInput {
            try parsedOptions { () throws(FieldProblems) in try LoanUseCheckInput.parse(on: on, today: JobKinds.vietnamToday()) }
        }

        func validate() throws {
            _ = try input()
        }

        func run() async throws {
            try await reportingErrors {
                let input = try input()
                let logger = logging.logger()
                try await recordedWrite(database, logger, action: "loan.check", target: "loan \(loan.prefix(100)) on \(input.on.iso)") { [loan] client in
                    try await RecordWrites(client: client, logger: logger).checkLoanUse(loan: loan, input)
                }
                print("Loan \(loan): use checked on \(input.on.iso).")
            }
        }
    }

    struct Mark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark a loan as risk debt, restructured, or normal again (follow-ups stop unless normal).",
            discussion: "Example:\n  creditops loans mark HD00012345 risk"
        )

        enum Status: String, ExpressibleByArgument, CaseIterable { case normal, risk, restructured }

        @Argument(help: "The loan's code.") var loan: String
        @Argument(help: "normal, risk or restructured.") var status: Status
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let updated = try await database.withClient(logger: logger.quieter()) { client in
                    let updated = try await count(client, "UPDATE loans SET status = \(status.rawValue)::loan_status WHERE code = \(loan) RETURNING 1", logger)
                    await AuditLog(client: client, logger: logger).record(
                        .commandLine, action: "loan.mark", target: "loan \(loan.prefix(100)): \(status.rawValue)",
                        outcome: updated == 1 ? "ok" : "refused: unknown loan")
                    return updated
                }
                guard updated == 1 else { throw CLIError("unknown loan \(shown(loan))") }
                print("Loan \(loan): \(status.rawValue).")
            }
        }
    }
}

/// Rows a statement returned.
func count(_ client: PostgresClient, _ query: PostgresQuery, _ logger: Logger) async throws -> Int {
    var rows = 0
    for try await _ in try await client.query(query, logger: logger) { rows += 1 }
    return rows
}

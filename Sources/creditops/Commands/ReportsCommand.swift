import ArgumentParser
import CreditDomain
import CreditWorkers

struct ReportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Report obligations from the report types' rules.",
        subcommands: [Generate.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write each unit's obligations for a year from the report types (the leader does it every 1 January).",
            discussion: """
                A yearly type is due on its day and month, a quarterly one on its day of each quarter's last
                month, a monthly one on its day of every month. Obligations already there (imported or
                generated) stay as they are: running it again adds nothing.

                Example:
                  creditops reports generate --year 2027
                """
        )

        @Option(help: "The year (default: this year in Vietnam).") var year: Int?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if let year, !(2000...2100).contains(year) { throw ValidationError("--year must be within 2000...2100") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let year = self.year ?? JobKinds.vietnamToday().year
                let created = try await database.withClient(logger: logger.quieter()) { client in
                    try await AuditLog(client: client, logger: logger).recording(.commandLine, action: "reports.generate", target: "year \(year)") {
                        try await ReportObligations(client: client, logger: logger.quieter()).generate(year: year)
                    }
                }
                print(json ? #"{"year":\#(year),"created":\#(created)}"# : "Report obligations for \(year): \(created) new.")
            }
        }
    }
}

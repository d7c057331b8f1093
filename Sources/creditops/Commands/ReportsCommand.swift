import ArgumentParser
import CreditDomain
import CreditWorkers
import PostgresNIO

struct ReportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Report obligations from the report types' rules.",
        subcommands: [Generate.self, List.self, Submit.self]
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

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report obligations not handed in yet, soonest due first.",
            discussion: "Example:\n  creditops reports list --unit T01-H03"
        )

        @Option(help: "Only obligations of this unit's subtree.") var unit: String?
        @Option(help: "At most this many (1...10000).") var limit = 100
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        struct Row: Codable {
            var id: Int64
            var unit: String
            var report: String
            var period: String
            var dueOn: String
        }

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be within 1...10000") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let rows = try await database.withClient(logger: logger.quieter()) { client in
                    var rows: [Row] = []
                    for try await (id, unit, report, period, due) in try await client.query("""
                        WITH RECURSIVE subtree (id) AS (
                            SELECT id FROM units WHERE \(unit == nil) OR code = \(unit ?? "")
                            UNION SELECT u.id FROM units u JOIN subtree s ON u.parent_id = s.id
                        )
                        SELECT o.id, u.code, t.code, o.period, o.due_on::text
                        FROM report_obligations o JOIN units u ON u.id = o.unit_id JOIN report_types t ON t.id = o.report_type_id
                        WHERE o.unit_id IN (SELECT id FROM subtree) AND o.submitted_on IS NULL
                        ORDER BY o.due_on, u.code LIMIT \(limit)
                        """, logger: logger).decode((Int64, String, String, String, String).self) {
                        rows.append(Row(id: id, unit: unit, report: report, period: period, dueOn: due))
                    }
                    return rows
                }
                if json { return try printJSON(rows) }
                printTable(["id", "unit", "report", "period", "due"], rows.map { ["\($0.id)", $0.unit, $0.report, $0.period, $0.dueOn] })
            }
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark a report obligation handed in (its reminders stop).",
            discussion: "Example:\n  creditops reports submit 42 --on 2026-11-14 --by \"Nguyễn Văn An\""
        )

        @Argument(help: "The obligation's id (see `reports list`).") var id: Int64
        @Option(help: "The day it was handed in, YYYY-MM-DD (default: today in Vietnam).") var on: String?
        @Option(help: "Who handed it in.") var by: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func input() throws -> ReportSubmissionInput {
            try parsedOptions { () throws(FieldProblems) in try ReportSubmissionInput.parse(on: on, by: by, today: JobKinds.vietnamToday()) }
        }

        func validate() throws {
            _ = try input()
        }

        func run() async throws {
            try await reportingErrors {
                let input = try input()
                let logger = logging.logger()
                try await recordedWrite(database, logger, action: "report.submit", target: "report obligation \(id) on \(input.on.iso)") { [id] client in
                    try await RecordWrites(client: client, logger: logger).submitReport(id, input)
                }
                print("Report obligation \(id): handed in on \(input.on.iso) by \(input.by).")
            }
        }
    }
}

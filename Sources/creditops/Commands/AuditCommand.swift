import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The trail of writes made through the API, /ops and the CLI.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who did what, when, from where, and how it ended (newest first).",
            discussion: """
                Example:
                  creditops audit list --since 2026-11-30 --json
                """
        )

        @Option(help: "Only events at or after this day (YYYY-MM-DD, Vietnam time) or moment (ISO 8601).") var since: String?
        @Option(help: "At most this many events.") var limit = 200
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be within 1...10000") }
            if let since, Self.moment(since) == nil {
                throw ValidationError("--since '\(shown(since))' is neither a day YYYY-MM-DD nor an ISO 8601 time")
            }
        }

        static func moment(_ text: String) -> Date? {
            if text.count == 10, let day = CalendarDate(iso: Substring(text)) { return ISOTime.parse(day.iso + "T00:00:00+07:00") }
            return ISOTime.parse(text)
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let events = try await database.withClient(logger: logger.quieter()) { client in
                    try await AuditLog(client: client, logger: logger).list(since: since.flatMap(Self.moment), limit: limit)
                }
                if json { return try printJSON(events) }
                printTable(["AT", "WHO", "ROLE", "ADDRESS", "ACTION", "TARGET", "OUTCOME"], events.map {
                    [Display.time($0.at), Display.clip($0.tokenName, 30), $0.role, $0.address, $0.action, Display.clip($0.target, 40),
                     Display.clip($0.outcome, 60)]
                })
            }
        }
    }
}

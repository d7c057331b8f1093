import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation
import PostgresNIO

struct FollowupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "followups",
        abstract: "List overdue-debt follow-ups and record their outcome.",
        subcommands: [List.self, Set.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow-ups, newest first.",
            discussion: "Example:\n  creditops followups list --open --unit T01-H03"
        )

        @Flag(help: "Only those without an outcome.") var open = false
        @Option(help: "Only loans of this unit's subtree.") var unit: String?
        @Option(help: "At most this many (1...10000).") var limit = 50
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        struct Row: Codable {
            var id: Int64
            var loan: String
            var borrower: String
            var group: String
            var overdueDays: Int
            var plannedOn: String
            var outcome: String?
            var promisedOn: String?
            var note: String
        }

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be within 1...10000") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let rows = try await database.withClient(logger: logger.quieter()) { client in
                    let result = try await client.query("""
                        WITH RECURSIVE subtree (id) AS (
                            SELECT id FROM units WHERE \(unit == nil) OR code = \(unit ?? "")
                            UNION SELECT u.id FROM units u JOIN subtree s ON u.parent_id = s.id
                        )
                        SELECT f.id, l.code, b.name, g.code, f.overdue_days, f.planned_on::text, f.outcome::text,
                               f.promised_on::text, f.note
                        FROM followups f JOIN loans l ON l.id = f.loan_id JOIN borrowers b ON b.id = l.borrower_id
                        JOIN groups g ON g.id = b.group_id
                        WHERE g.commune_id IN (SELECT id FROM subtree) AND (NOT \(open) OR f.outcome IS NULL)
                        ORDER BY f.planned_on DESC, f.id DESC LIMIT \(limit)
                        """, logger: logger)
                    var rows: [Row] = []
                    for try await (id, loan, borrower, group, days, planned, outcome, promised, note) in result.decode(
                        (Int64, String, String, String, Int, String, String?, String?, String).self)
                    {
                        rows.append(Row(id: id, loan: loan, borrower: borrower, group: group, overdueDays: days, plannedOn: planned,
                                        outcome: outcome, promisedOn: promised, note: note))
                    }
                    return rows
                }
                if json {
                    try printJSON(rows)
                } else {
                    printTable(["id", "loan", "borrower", "group", "days overdue", "planned", "outcome", "note"], rows.map { row in
                        let outcome = row.outcome.map { $0 + (row.promisedOn.map { " \($0)" } ?? "") } ?? "-"
                        return ["\(row.id)", row.loan, row.borrower, row.group, "\(row.overdueDays)", row.plannedOn, outcome,
                                Display.clip(row.note, 40)]
                    })
                }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record what came of a follow-up.",
            discussion: """
                Outcomes: promised (with --promised-on), paid, moved_away, risk_proposed.

                Example:
                  creditops followups set 42 --outcome promised --promised-on 2026-12-05 --note "hộ hẹn trả sau thu hoạch"
                """
        )

        @Argument(help: "The follow-up's id (see `followups list`).") var id: Int64
        @Option(help: "promised, paid, moved_away or risk_proposed.") var outcome: String
        @Option(help: "The promised day of payment, YYYY-MM-DD (with --outcome promised).") var promisedOn: String?
        @Option(help: "A note.") var note: String = ""
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func input() throws -> FollowupOutcomeInput {
            try parsedOptions { () throws(FieldProblems) in try FollowupOutcomeInput.parse(outcome: outcome, promisedOn: promisedOn, note: note) }
        }

        func validate() throws {
            _ = try input()
        }

        func run() async throws {
            try await reportingErrors {
                let input = try input()
                let logger = logging.logger()
                try await recordedWrite(database, logger, action: "followup.set", target: "follow-up \(id): \(input.outcome.rawValue)") { [id] client in
                    try await RecordWrites(client: client, logger: logger).setOutcome(followup: id, input)
                }
                print("Follow-up \(id): \(input.outcome.rawValue)\(input.promisedOn.map { " \($0.iso)" } ?? "").")
            }
        }
    }
}

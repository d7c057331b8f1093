import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List the monthly transaction sessions, or move one month's session (storm, local event).",
        subcommands: [List.self, Move.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sessions between two days (default: the next 60 days), moved ones with their reason.",
            discussion: """
                Example:
                  creditops sessions list --unit T01-H03 --from 2026-12-01 --to 2026-12-31
                """
        )

        @Option(help: "Only the points of this unit and the units below it.") var unit: String?
        @Option(help: "First day, YYYY-MM-DD (default: today in Vietnam).") var from: String?
        @Option(help: "Last day, YYYY-MM-DD (default: 60 days after --from).") var to: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func range() throws -> (CalendarDate, CalendarDate) {
            let first = try from.map { try day($0, "--from") } ?? JobKinds.vietnamToday()
            let last = try to.map { try day($0, "--to") } ?? first.adding(days: 60)
            return (first, last)
        }

        func validate() throws {
            let (first, last) = try range()
            guard first <= last else { throw ValidationError("--to \(last.iso) is before --from \(first.iso)") }
            guard last.daysSinceEpoch - first.daysSinceEpoch <= 3660 else { throw ValidationError("at most ten years at a time") }
            if let unit, unit.isEmpty || unit.count > 200 { throw ValidationError("--unit must be 1 to 200 characters") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let (first, last) = try range()
                let sessions = try await database.withClient(logger: logger.quieter()) { client in
                    try await SessionMoves(client: client, registry: JobKinds.registry(client: client, logger: logger), logger: logger)
                        .list(unitCode: unit, from: first, to: last)
                }
                if json { return try printJSON(sessions) }
                printTable(["DAY", "TIME", "POINT", "COMMUNE", "LOCATION", "MOVED"], sessions.map {
                    [CalendarDate(iso: $0.date)?.vietnameseWithWeekday ?? $0.date, $0.time, $0.point, $0.commune, Display.clip($0.location, 40),
                     $0.movedBecause.map { "moved: \(Display.clip($0, 30))" } ?? ""]
                })
            }
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move one month's session of a point; whoever was already reminded of the old day is told.",
            discussion: """
                Reminders of the old day not sent yet are withdrawn (recorded expired); if any had gone out,
                the point's group leaders and the commune contact get a notice with the old and the new day.
                Moving it again replaces the move.

                Example:
                  creditops sessions move TB-1 --month 2026-12 --to 2026-12-21 --time 08:00 --reason "bão số 9"
                """
        )

        @Argument(help: "The transaction point's code.") var point: String
        @Option(help: "The month whose session moves, YYYY-MM.") var month: String
        @Option(help: "The new day, YYYY-MM-DD.") var to: String
        @Option(help: "The new time, HH:MM (default: the point's usual time).") var time: String?
        @Option(help: "Why (shown in `sessions list`).") var reason = ""
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func input() throws -> SessionMoveInput {
            guard !point.isEmpty, point.count <= 200 else { throw ValidationError("the point code must be 1 to 200 characters") }
            return try parsedOptions { () throws(FieldProblems) in try SessionMoveInput.parse(month: month, to: to, time: time, reason: reason) }
        }

        func validate() throws {
            _ = try input()
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let input = try input()
                let outcome = try await recordedWrite(
                    database, logger, action: "session.move", target: "point \(point.prefix(100)) \(month) → \(input.to.iso)"
                ) { [point] client in
                    try await SessionMoves(client: client, registry: JobKinds.registry(client: client, logger: logger), logger: logger)
                        .move(pointCode: point, month: input.month, to: input.to, time: input.time, reason: input.reason, now: Date())
                }
                print("Session of \(outcome.point) for \(month): \(outcome.from) → \(outcome.to) \(outcome.time); "
                    + "\(outcome.remindersWithdrawn) reminders withdrawn, \(outcome.noticesPlanned) notices of the change planned.")
            }
        }
    }
}

private func day(_ text: String, _ option: String) throws -> CalendarDate {
    guard let day = CalendarDate(iso: text), text.count == 10 else {
        throw ValidationError("\(option) '\(shown(text))' is not a date YYYY-MM-DD")
    }
    return day
}

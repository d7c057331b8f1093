import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Run reminder planners once for a moment (what the daily 07:00 run does).",
        discussion: """
            Finds the sessions, overdue loans, loan-use checks and report deadlines due on the day of --now
            (in Vietnam), writes one outbox row per reminder and recipient, and queues their deliveries for
            the workers. Running it again for the same day adds nothing, so it is safe for re-running a
            missed day. Deliveries due outside the sending hours wait for the next 07:00.

            Example:
              creditops plan all
              creditops plan overdue --now 2026-11-26T07:00:00+07:00
            """
    )

    enum Which: String, ExpressibleByArgument, CaseIterable {
        case sessions, overdue, loanChecks = "loan-checks", reports, all
    }

    @Argument(help: "sessions, overdue, loan-checks, reports or all.")
    var which: Which

    @Option(help: "The moment to plan for, ISO 8601 (default: now).")
    var now: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let now, ISOTime.parse(now) == nil {
            throw ValidationError("--now '\(shown(now))' is not an ISO 8601 time such as 2026-11-26T07:00:00+07:00")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let moment = now.flatMap(ISOTime.parse) ?? Date()
            let day = CalendarDate(unixTime: moment.timeIntervalSince1970)
            let kinds = which == .all ? ReminderPlanner.Kind.allCases : [ReminderPlanner.Kind(rawValue: which.rawValue)!]
            let reports = try await database.withClient(logger: logger.quieter()) { client in
                let planner = ReminderPlanner(client: client, registry: JobKinds.registry(client: client, logger: logger), logger: logger.quieter())
                var reports: [ReminderPlanner.Report] = []
                for kind in kinds {
                    reports.append(try await planner.plan(kind, day: day, now: moment))
                }
                return reports
            }
            if json {
                try printJSON(reports)
                return
            }
            printTable(["planner", "day", "due", "created", "digests", "already planned", "no phone", "opted out", "follow-ups", "seconds"], reports.map {
                [$0.planner.rawValue, $0.day, "\($0.due)", "\($0.created)", "\($0.digests)", "\($0.alreadyPlanned)", "\($0.withoutPhone)",
                 "\($0.optedOut)",
                 "\($0.followupsCreated)", String(format: "%.2f", $0.seconds)]
            })
        }
    }
}

import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation

struct AggregatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregates",
        abstract: "Rebuild or show the coverage and loan figures the dashboards read.",
        subcommands: [Rebuild.self, Show.self, Backfill.self]
    )

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every unit's coverage and loan figures from the records (for repair).",
            discussion: """
                Workers keep the figures fresh as records change; this recomputes all of them at once, in
                one transaction, with the same SQL. Without --year: every year that has inspections.

                Example:
                  creditops aggregates rebuild --year 2026
                """
        )

        @Option(help: "Only this year's coverage (loan figures are always rebuilt).")
        var year: Int?

        @Flag(help: "Print the result as JSON.")
        var json = false

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if let year, !(1900...2200).contains(year) { throw ValidationError("--year must be within 1900...2200") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let report = try await database.withClient(logger: logger.quieter()) { client in
                    try await Aggregator(client: client, logger: logger, today: JobKinds.vietnamToday).rebuild(year: year)
                }
                if json {
                    try printJSON(report)
                } else {
                    print("Rebuilt the figures of \(report.units) units for \(report.years.map(String.init).joined(separator: ", ")) in \(Display.seconds(report.seconds)).")
                }
            }
        }
    }

    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep the figures of a year's month ends, as they stood then, for the trend charts.",
            discussion: """
                The nightly rebuild keeps a snapshot of every unit each day from now on; this fills in the
                past, for the months of the year that have no snapshot yet (running it again adds nothing).
                Each month end is recomputed from the inspections up to that day and the loans overdue on
                it, at their current outstanding amounts (the records keep no history of repayments).

                Example:
                  creditops aggregates backfill --year 2026
                """
        )

        @Option(help: "The year (default: this year in Vietnam).") var year: Int?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if let year, !(1900...2200).contains(year) { throw ValidationError("--year must be within 1900...2200") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let today = JobKinds.vietnamToday()
                let days = try await database.withClient(logger: logger.quieter()) { client in
                    try await UnitSnapshots(client: client, logger: logger.quieter()).backfill(
                        year: year ?? today.year, today: today, aggregator: Aggregator(client: client, logger: logger.quieter(), today: JobKinds.vietnamToday))
                }
                print(days.isEmpty ? "Nothing to fill in: every month of \(year ?? today.year) so far has a snapshot."
                                   : "Kept the figures of \(days.count) month ends: \(days.map(\.iso).joined(separator: ", ")).")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a unit's coverage (and that of each unit below it) and loan figures.",
            discussion: """
                Example:
                  creditops aggregates show T01-H03 --year 2026
                """
        )

        @Argument(help: "The unit's code.")
        var unit: String

        @Option(help: "The year (default: this year in Vietnam).")
        var year: Int?

        @Flag(help: "Print the figures as JSON.")
        var json = false

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let logger = logging.logger()
                let year = self.year ?? JobKinds.vietnamToday().year
                let report = try await database.withClient(logger: logger.quieter()) { client in
                    try await AggregateReader(client: client, logger: logger).unit(code: unit, year: year)
                }
                guard let report else { throw CLIError("unknown unit \(shown(unit))") }
                if json {
                    try printJSON(report)
                    return
                }
                let own = report.coverage
                print("\(report.name) (\(report.code), \(report.level)), \(year)")
                if let own {
                    print("  coverage (\(own.rule) rule): \(own.done)/\(own.required) \(own.status)" + (own.missing.isEmpty ? "" : "; missing: \(own.missing.joined(separator: ", "))"))
                    print("  units below compliant: \(own.subtreeCompliant)/\(own.subtreeUnits) (\(own.subtreeNotApplicable) not applicable)")
                } else {
                    print("  coverage: not computed yet")
                }
                if let loans = report.loans {
                    print("  loans: \(loans.loans), outstanding \(loans.outstanding) đ, overdue \(loans.overdueLoans) (\(loans.overdueAmount) đ, \(loans.overdueRatio.map { String(format: "%.2f%%", $0 * 100) } ?? "-")), savings participation \(loans.savingsParticipation.map { String(format: "%.0f%%", $0 * 100) } ?? "-")")
                }
                if !report.children.isEmpty {
                    printTable(["unit", "rule", "done", "required", "status"], report.children.map {
                        [$0.code, $0.coverage?.rule ?? "-", "\($0.coverage?.done ?? 0)", "\($0.coverage?.required ?? 0)", $0.coverage?.status ?? "-"]
                    })
                }
            }
        }
    }
}

import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation

struct AggregatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregates",
        abstract: "Rebuild or show the coverage and loan figures the dashboards read.",
        subcommands: [Rebuild.self, Show.self]
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

public import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation
import JobQueue

struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Fill the database with a deterministic synthetic data set.",
        discussion: """
            Profiles (DOMAIN.md "Scale"):
              demo      1 province, 9 districts, ~95 communes, ~110 points, ~1,500 groups, ~50,000 borrowers
              province  1 province, 11 districts, ~167 communes, ~2,700 groups, ~108,000 borrowers
              national  63 provinces, ~700 districts, ~10,500 communes, ~10,800 points, ~170,000 groups,
                        ~6,800,000 borrowers
            With loans, report obligations and a year of inspections with gaps, dated around --as-of.
            The same --seed and --as-of give the same data; rows go through the checks and merges of
            `creditops import`, so seeding again changes nothing.

            Example:
              creditops seed --profile demo
              creditops seed --profile national --two-tier --seed 7
            """
    )

    @Option(help: "demo, province or national.")
    var profile: SeedProfile = .demo

    @Option(help: "Seed of the random generator.")
    var seed: UInt64 = 1

    @Flag(help: "Communes directly under provinces (the two-tier government since July 2025).")
    var twoTier = false

    @Option(help: "The day the data is dated around, YYYY-MM-DD (default: today in Vietnam).")
    var asOf: String?

    @Flag(help: "Print the counts as JSON.")
    var json = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let asOf, CalendarDate(iso: asOf) == nil {
            throw ValidationError("--as-of \(shown(asOf)) is not a date YYYY-MM-DD")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let day = asOf.flatMap { CalendarDate(iso: $0) } ?? CalendarDate(unixTime: Date().timeIntervalSince1970)
            let started = ContinuousClock.now
            let summaries = try await database.withClient(logger: logger.quieter()) { client in
                let seeder = Seeder(importer: Importer(client: client, logger: logger.quieter()), profile: profile,
                                    seed: seed, twoTier: twoTier, asOf: day)
                return try await seeder.run { kind in
                    if !json { printError("seeding \(kind.rawValue)…") }
                }
            }
            if json {
                try printJSON(summaries)
            } else {
                for summary in summaries {
                    print("\(summary.description) in \(Display.seconds(summary.seconds)).")
                }
                print("Seeded the \(profile.rawValue) profile\(twoTier ? " (two-tier)" : "") as of \(day.iso) in \(Display.seconds(started.elapsedSeconds)).")
            }
        }
    }
}

extension SeedProfile: ExpressibleByArgument {}

extension ContinuousClock.Instant {
    var elapsedSeconds: Double {
        (ContinuousClock.now - self).seconds
    }
}

import CreditDomain
import CreditWorkers
import Logging
import PostgresNIO

/// Everything a unit's dashboard page shows, read in one go.
struct DashboardData: Sendable {
    var summary: UnitSummary
    var figures: UnitFigures?
    /// A commune's groups, overdue loans and loans to check; nil above the communes.
    var commune: CommuneDetails?
    var trends: [UnitSnapshots.Month]

    /// The summary answers 404 and 403 for the unit; the rest follows once it is allowed.
    static func load(code: String, scope: AccessScope, year: Int, client: PostgresClient, logger: Logger) async throws -> DashboardData {
        let today = JobKinds.vietnamToday()
        let summary = try await UnitSummary.load(code: code, scope: scope, client: client, logger: logger)
        let figures = try await AggregateReader(client: client, logger: logger).unit(code: summary.unit, year: year)
        let commune = summary.level == "commune"
            ? try await CommuneDetails.load(unitCode: summary.unit, year: year, today: today, client: client, logger: logger)
            : nil
        let trends = try await UnitSnapshots(client: client, logger: logger).months(unitCode: summary.unit, years: [year - 1, year])
        return DashboardData(summary: summary, figures: figures, commune: commune, trends: trends)
    }

    /// What keeps one drawn page apart from another: the unit, what the reader's token may see
    /// and whether it may write, the year, the language, and today (sessions and overdue days
    /// move with it).
    static func pageKey(code: String, scope: AccessScope, year: Int, language: PageLanguage) -> String {
        "\(code)\u{1}\(scope.unitID)\u{1}\(scope.role.writesDomain)\u{1}\(year)\u{1}\(language.rawValue)\u{1}\(JobKinds.vietnamToday().iso)"
    }
}

/// The kept results the dashboard's reads share: drawn pages (drawing one costs about as much as
/// reading it), the summary API's JSON, and `/ops`'s overview.
struct DashboardCaches: Sendable {
    let pages: RecentResults<String>
    let summaries: RecentResults<UnitSummary.Row?>
    let ops: RecentResults<OpsOverview>

    init(lifetime: Duration) {
        pages = RecentResults(lifetime: lifetime)
        summaries = RecentResults(lifetime: lifetime)
        ops = RecentResults(lifetime: lifetime)
    }

    /// After a write: the next page shows it.
    func forgetAll() {
        pages.forgetAll()
        summaries.forgetAll()
        ops.forgetAll()
    }
}

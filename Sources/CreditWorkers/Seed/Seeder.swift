public import CreditDomain
import PostgresNIO

/// Writes a deterministic synthetic data set through the importer, kind by kind: the same
/// checks and merges as `creditops import`, so seeding twice changes nothing and a seeded
/// database holds nothing an import would refuse.
public struct Seeder: Sendable {
    public let importer: Importer
    public let profile: SeedProfile
    public let seed: UInt64
    public let twoTier: Bool
    /// The day the data set is "as of": loans, inspections and reports are dated around it.
    public let asOf: CalendarDate

    public init(importer: Importer, profile: SeedProfile, seed: UInt64, twoTier: Bool, asOf: CalendarDate) {
        self.importer = importer
        self.profile = profile
        self.seed = seed
        self.twoTier = twoTier
        self.asOf = asOf
    }

    /// A quarterly report every commune owes its parent, beside the yearly one of the schema.
    static let quarterlyReport = (code: "BC-QUY", name: "Báo cáo quý kết quả hoạt động nhận ủy thác")

    /// Seeds every kind in dependency order; `progress` hears each kind as it starts.
    public func run(progress: @Sendable (ImportKind) -> Void = { _ in }) async throws -> [ImportSummary] {
        let plan = SeedPlan(profile: profile, twoTier: twoTier, seed: seed)
        let records = SeedRecords(plan: plan, seed: seed, asOf: asOf)
        try await importer.client.query(
            """
            INSERT INTO report_types (code, name, submitting_level, frequency, due_day)
            VALUES (\(Self.quarterlyReport.code), \(Self.quarterlyReport.name), 'commune', 'quarterly', 25)
            ON CONFLICT (code) DO NOTHING
            """, logger: importer.logger)
        var summaries: [ImportSummary] = []
        let kinds: [(ImportKind, AnySequence<[String]>)] = [
            (.units, records.units()), (.points, records.points()), (.groups, records.groups()),
            (.borrowers, records.borrowers()), (.loans, records.loans()), (.inspections, records.inspections()),
            (.reports, records.reports()),
        ]
        // Lazy, the sequences cannot count their rows; the large ones load directly when their
        // tables are empty (``DirectLoad``). Each borrower has a loan or two.
        let borrowers = plan.groups.last?.borrowers.upperBound ?? 0
        for (kind, rows) in kinds {
            progress(kind)
            let expected = [.borrowers, .loans].contains(kind) ? borrowers : nil
            summaries.append(try await importer.importRecords(kind, rows, expectedRows: expected))
        }
        return summaries
    }
}

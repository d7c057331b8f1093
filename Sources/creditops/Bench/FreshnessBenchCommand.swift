import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation
import PostgresNIO

/// How long a new inspection takes to show in the coverage a dashboard reads, with `creditops
/// run` (or workers) going on the same database.
struct FreshnessBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "freshness",
        abstract: "Insert inspections one by one and time until each shows in the coverage figures.",
        discussion: """
            Needs a seeded database (creditops seed) and running workers (creditops run) on it. Each
            insert is one inspection of 5 borrowers of a group by its commune, committed alone; the time
            is from the commit until the commune's coverage row shows a newer updated_at. The bench's
            inspections are deleted at the end.

            Example:
              creditops run &   creditops bench freshness --inserts 200
            """
    )

    @Option(help: "How many inspections to insert.")
    var inserts = 200

    @Option(name: .customLong("pause-ms"), help: "Pause between inserts, in milliseconds.")
    var pauseMilliseconds = 20

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    struct Report: Codable {
        var inserts: Int
        var p50Milliseconds: Double
        var p95Milliseconds: Double
        var p99Milliseconds: Double
        var maxMilliseconds: Double
    }

    func validate() throws {
        guard (1...100_000).contains(inserts) else { throw ValidationError("--inserts must be within 1...100000") }
    }

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let inserts = inserts, pause = pauseMilliseconds
            let report = try await database.withClient(logger: logger.quieter()) { client in
                let targets = try await Self.targets(client, count: inserts)
                guard !targets.isEmpty else { throw CLIError("no group with 5 borrowers: seed the database first (creditops seed)") }
                let year = JobKinds.vietnamToday().year
                let prefix = "BENCH-FRESH-\(ProcessInfo.processInfo.processIdentifier)-"
                var latencies: [Double] = []
                for index in 0..<inserts {
                    let (group, commune) = targets[index % targets.count]
                    let before = try await Self.updatedAt(client, unit: commune, year: year)
                    try await client.query("""
                        WITH inspection AS (
                            INSERT INTO inspections (code, inspector_unit_id, inspected_on)
                            VALUES (\(prefix + String(index)), \(commune), (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)
                            RETURNING id
                        )
                        INSERT INTO inspected_borrowers (inspection_id, borrower_id)
                        SELECT inspection.id, b.id FROM inspection, (SELECT id FROM borrowers WHERE group_id = \(group) ORDER BY id LIMIT 5) AS b
                        """, logger: logger)
                    let committed = ContinuousClock.now
                    var seen = false
                    // Bounded: a recompute that takes over 30 s is a failure, not a slow sample.
                    while ContinuousClock.now - committed < .seconds(30) {
                        if let now = try await Self.updatedAt(client, unit: commune, year: year), now > (before ?? .distantPast) {
                            seen = true
                            break
                        }
                        try await Task.sleep(for: .milliseconds(1))
                    }
                    guard seen else { throw CLIError("insert \(index): coverage of unit \(commune) not updated within 30 s; are workers running?") }
                    let elapsed = ContinuousClock.now - committed
                    latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                    try await Task.sleep(for: .milliseconds(pause))
                }
                try await client.query("DELETE FROM inspections WHERE code LIKE \(prefix + "%")", logger: logger)
                let sorted = latencies.sorted()
                return Report(inserts: inserts, p50Milliseconds: percentile(sorted, 0.5), p95Milliseconds: percentile(sorted, 0.95),
                              p99Milliseconds: percentile(sorted, 0.99), maxMilliseconds: sorted.last ?? 0)
            }
            if json {
                try printJSON(report)
            } else {
                print(String(format: "%d inserts: commit → coverage updated p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms",
                             report.inserts, report.p50Milliseconds, report.p95Milliseconds, report.p99Milliseconds, report.maxMilliseconds))
            }
        }
    }

    /// Groups with at least 5 borrowers, with their commune, spread over the tree.
    private static func targets(_ client: PostgresClient, count: Int) async throws -> [(Int64, Int64)] {
        var targets: [(Int64, Int64)] = []
        let rows = try await client.query("""
            SELECT g.id, g.commune_id FROM groups g
            WHERE (SELECT count(*) FROM borrowers b WHERE b.group_id = g.id) >= 5
            ORDER BY hashint8(g.id) LIMIT \(count)
            """, logger: .init(label: "bench"))
        for try await (group, commune) in rows.decode((Int64, Int64).self) { targets.append((group, commune)) }
        return targets
    }

    private static func updatedAt(_ client: PostgresClient, unit: Int64, year: Int) async throws -> Date? {
        let rows = try await client.query("SELECT updated_at FROM coverage WHERE unit_id = \(unit) AND year = \(year)", logger: .init(label: "bench"))
        for try await date in rows.decode(Date.self) { return date }
        return nil
    }
}

import Foundation
import PostgresNIO
import TestSupport
import Testing

/// Hostile values for every command that takes input: each gets a clear error (exit 1 or 64, a
/// message on stderr, never a crash) and the database is unchanged.
@Suite struct HostileInputTests {
    static let huge = String(repeating: "x", count: 100_000)
    static let sql = "'; DROP TABLE units; --"
    static let overflow = "99999999999999999999999"

    static let cases: [[String]] = [
        ["enqueue", ""], ["enqueue", "no-such-kind"], ["enqueue", sql], ["enqueue", huge],
        ["enqueue", "sleep", "--args", "not json"], ["enqueue", "sleep", "--args", #"{"milliseconds": "soon"}"#],
        ["enqueue", "sleep", "--args", #"{"milliseconds": -5}"#, "--priority", overflow],
        ["enqueue", "noop", "--priority", "-101"], ["enqueue", "noop", "--max-attempts", "0"],
        ["enqueue", "noop", "--run-at", "2026-02-30T07:00:00+07:00"], ["enqueue", "noop", "--queue", sql],
        ["jobs", "show", "-1"], ["jobs", "show", overflow], ["jobs", "show", sql], ["jobs", "retry", "0"],
        ["jobs", "cancel", "999999999"], ["jobs", "list", "--state", "lost"], ["jobs", "list", "--queue", huge],
        ["queues", "pause", ""], ["queues", "pause", sql], ["queues", "resume", huge],
        ["import", "nonsense", "/dev/null"], ["import", "units", "/no/such/file.csv"], ["import", "units", "/dev/null"],
        ["import", "borrowers", "/"],
        ["seed", "--profile", "galaxy"], ["seed", "--seed", "-1"], ["seed", "--as-of", "2026-02-30"], ["seed", "--as-of", sql],
        ["plan", "everything"], ["plan", "all", "--now", "2026-02-30T07:00:00+07:00"], ["plan", "all", "--now", huge],
        ["loans", "check", sql], ["loans", "check", "HD1", "--on", "2026-13-01"], ["loans", "mark", "HD1", "forgiven"],
        ["loans", "mark", huge, "risk"],
        ["followups", "set", "1", "--outcome", "promised"], ["followups", "set", "1", "--outcome", "paid", "--promised-on", "2026-12-01"],
        ["followups", "set", overflow, "--outcome", "paid"], ["followups", "set", "1", "--outcome", "vanished"],
        ["followups", "set", "1", "--outcome", "paid", "--note", huge], ["followups", "list", "--limit", "0"],
        ["aggregates", "rebuild", "--year", "-2026"], ["aggregates", "rebuild", "--year", overflow], ["aggregates", "show", sql],
        ["aggregates", "show", ""],
        ["tokens", "create", "--unit", sql], ["tokens", "create", "--unit", ""],
        ["tokens", "create", "--unit", "T", "--role", "admin"], ["tokens", "create", "--unit", "T", "--expires-in", "0d"],
        ["tokens", "create", "--unit", "T", "--expires-in", overflow + "d"], ["tokens", "create", "--unit", "T", "--expires-in", sql],
        ["tokens", "create", "--unit", "T", "--name", huge], ["tokens", "create", "--unit", "T", "--staff", "--role", "officer"],
        ["tokens", "revoke", "-1"], ["tokens", "revoke", overflow], ["tokens", "revoke", sql], ["tokens", "revoke", "999999"],
        ["tokens", "list", "--json", sql],
        ["tokens", "link", "--unit", sql], ["tokens", "link", "--unit", "T", "--role", huge], ["tokens", "link", "--unit", "T", "--base-url", sql],
        ["tokens", "link", "--unit", "T", "--base-url", "javascript:alert(1)"],
        ["audit", "list", "--since", sql], ["audit", "list", "--since", huge], ["audit", "list", "--since", "2026-02-30"],
        ["audit", "list", "--limit", "0"], ["audit", "list", "--limit", overflow],
        ["bench", "pruning", "--rate", "-1"], ["bench", "pruning", "--seconds", overflow],
        ["sessions", "move", sql, "--month", "2026-12", "--to", "2026-12-21"], ["sessions", "move", "P", "--month", "2026-13", "--to", "2026-12-21"],
        ["sessions", "move", "P", "--month", "2026-12", "--to", "2026-02-30"], ["sessions", "move", "P", "--month", "2026-12", "--to", "2027-06-01"],
        ["sessions", "move", "P", "--month", "2026-12", "--to", "2026-12-21", "--time", "25:00"],
        ["sessions", "move", "P", "--month", "2026-12", "--to", "2026-12-21", "--reason", huge],
        ["sessions", "list", "--from", "2026-12-31", "--to", "2026-12-01"], ["sessions", "list", "--from", sql], ["sessions", "list", "--unit", huge],
        ["bench", "freshness", "--inserts", "-1"], ["bench", "reminders", "--month", "2026-13"],
    ]

    /// Every row of the tables a command could touch, as text.
    static func snapshot(_ client: PostgresClient) async throws -> [String] {
        var rows: [String] = []
        for table in ["units", "points", "groups", "borrowers", "loans", "followups", "report_obligations", "inspections",
                      "api_tokens", "job_queues", "notifications"] {
            let sql = "SELECT '\(table): ' || coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM \(table) t"
            for try await text in try await client.query(PostgresQuery(unsafeSQL: sql), logger: silentLogger).decode(String.self) {
                rows.append(text)
            }
        }
        let jobs = "SELECT 'jobs: ' || count(*) || ' ' || coalesce(string_agg(state::text, ',' ORDER BY id), '') FROM jobs"
        for try await text in try await client.query(PostgresQuery(unsafeSQL: jobs), logger: silentLogger).decode(String.self) {
            rows.append(text)
        }
        return rows
    }

    @Test func everyHostileValueIsRefusedClearlyAndChangesNothing() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            // Something to change if a command were fooled: a unit, a loan and a follow-up.
            try await client.query("""
                WITH u AS (INSERT INTO units (code, name, level) VALUES ('T', 'Tỉnh', 'province') RETURNING id)
                INSERT INTO units (code, name, level, parent_id) SELECT 'X', 'Xã', 'commune', id FROM u
                """, logger: silentLogger)
            let before = try await Self.snapshot(client)
            var failures: [String] = []
            for arguments in Self.cases {
                let output = try await CreditOpsProcess.run(arguments, environment: environment)
                let shown = arguments.map { $0.count > 40 ? String($0.prefix(20)) + "…(\($0.count) characters)" : $0 }.joined(separator: " ")
                if ![1, 64].contains(output.status) { failures.append("\(shown): exit \(output.status)") }
                if output.stderr.isEmpty { failures.append("\(shown): nothing on stderr") }
                if output.stderr.contains("Fatal error") || output.stderr.contains("Stack dump") {
                    failures.append("\(shown): crashed: \(output.stderr.prefix(300))")
                }
                if output.stderr.count > 5_000 { failures.append("\(shown): \(output.stderr.count) characters of error") }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(try await Self.snapshot(client) == before)
            print("hostile CLI inputs tried: \(Self.cases.count)")
        }
    }
}

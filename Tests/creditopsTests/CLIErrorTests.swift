import Foundation
import PostgresNIO
import TestSupport
import Testing

/// Bad set-up gets one clear line on stderr and a non-zero exit, never a hang or a stack trace.
@Suite struct CLIErrorTests {
    @Test(arguments: [
        ("foo://x", "must start with postgres://"),
        ("not a url at all", "DATABASE_URL is not a URL"),
        ("postgres://127.0.0.1/db", "has no user"),
        ("postgres://u@h1:5432,/db", "is not HOST or HOST:PORT"),
        ("postgres://u@h1:5432,h2:99999/db", "has no valid port"),
        ("postgres://u@h1,h2/db?target_session_attrs=standby", "target_session_attrs 'standby' is not one of"),
    ])
    func badDatabaseURL(url: String, expected: String) async throws {
        let output = try await CreditOpsProcess.run(["migrate"], environment: ["DATABASE_URL": url])
        #expect(output.status != 0)
        let lines = output.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(output.stderr.contains(expected))
    }

    /// A route to a channel nobody configured stops the worker at start, naming what is missing.
    @Test func aChannelNamedButNotConfigured() async throws {
        try await TestDatabase.withDatabase { _, database in
            let output = try await CreditOpsProcess.run(
                ["worker", "--no-leader"], environment: ["DATABASE_URL": database.url, "CREDITOPS_CHANNELS": "zalo-zns>sms"],
                timeout: .seconds(60))
            #expect(output.status != 0)
            #expect(output.stderr.contains("CREDITOPS_CHANNELS: 'zalo-zns' is not a configured channel; configured: log"), "\(output.stderr)")
            #expect(output.stderr.contains("CREDITOPS_ZALO_APP_ID"))
        }
    }

    @Test func missingDatabaseURL() async throws {
        let output = try await CreditOpsProcess.run(["jobs", "list"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("DATABASE_URL is not set"))
    }

    @Test func unreachableServerFailsWithinBound() async throws {
        let started = ContinuousClock.now
        // Port 1 on loopback: nothing listens there.
        let output = try await CreditOpsProcess.run(
            ["migrate"], environment: ["DATABASE_URL": "postgres://postgres@127.0.0.1:1/creditops"], timeout: .seconds(30))
        let elapsed = ContinuousClock.now - started
        #expect(output.status != 0)
        #expect(output.stderr.split(separator: "\n").count == 1)
        #expect(output.stderr.contains("cannot connect to PostgreSQL at 127.0.0.1:1"))
        #expect(elapsed < .seconds(15))
    }

    @Test func migrateTwiceThroughTheBinary() async throws {
        try await TestDatabase.withDatabase(migrated: false) { _, database in
            let first = try await CreditOpsProcess.run(["migrate"], environment: ["DATABASE_URL": database.url])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("Migrated schema from version 0"))
            let second = try await CreditOpsProcess.run(["migrate"], environment: ["DATABASE_URL": database.url])
            #expect(second.status == 0)
            #expect(second.stdout.contains("nothing to do"))
        }
    }

    /// A report handed in from the command line: by the same rules as the dashboard's form.
    @Test func reportsSubmitThroughTheBinary() async throws {
        try await TestDatabase.withDatabase { client, database in
            let env = ["DATABASE_URL": database.url]
            _ = try await client.query("""
                WITH d AS (INSERT INTO units (code, name, level) VALUES ('D1', 'Huyện đoàn Một', 'district') RETURNING id)
                INSERT INTO report_obligations (report_type_id, unit_id, period, due_on)
                SELECT t.id, d.id, '2026', DATE '2026-11-15' FROM report_types t, d WHERE t.code = 'BC-NAM'
                """, logger: silentLogger)
            let listed = try await CreditOpsProcess.run(["reports", "list", "--unit", "D1", "--json"], environment: env)
            #expect(listed.status == 0, "\(listed.stderr)")
            let id = try #require(listed.stdout.split(separator: "\"id\" : ").dropFirst().first?.prefix { $0.isNumber })
            let noName = try await CreditOpsProcess.run(["reports", "submit", String(id), "--by", " "], environment: env)
            #expect(noName.status != 0)
            #expect(noName.stderr.contains("--by is required"), "\(noName.stderr)")
            let future = try await CreditOpsProcess.run(["reports", "submit", String(id), "--on", "2999-01-01", "--by", "An"], environment: env)
            #expect(future.stderr.contains("--on 2999-01-01 has not come yet"), "\(future.stderr)")
            let unknown = try await CreditOpsProcess.run(["reports", "submit", "987654", "--by", "An"], environment: env)
            #expect(unknown.stderr.contains("unknown report obligation 987654"), "\(unknown.stderr)")
            let done = try await CreditOpsProcess.run(["reports", "submit", String(id), "--on", "2026-11-14", "--by", "Nguyễn Văn An"], environment: env)
            #expect(done.status == 0, "\(done.stderr)")
            #expect(done.stdout.contains("handed in on 2026-11-14 by Nguyễn Văn An"))
            let after = try await CreditOpsProcess.run(["reports", "list", "--unit", "D1", "--json"], environment: env)
            #expect(!after.stdout.contains("\"id\" : \(id)"), "a report handed in leaves the list")
            let audit = try await CreditOpsProcess.run(["audit", "list", "--json"], environment: env)
            #expect(audit.stdout.contains("report.submit"))
        }
    }

    @Test func enqueueTakesUniquenessAndDependencies() async throws {
        try await TestDatabase.withDatabase { _, database in
            let env = ["DATABASE_URL": database.url]
            let unique = ["enqueue", "noop", "--unique-args", "--unique-period", "86400", "--unique-states", "completed", "--run-at", "2030-01-01T07:00:00+07:00"]
            let first = try await CreditOpsProcess.run(unique, environment: env)
            #expect(first.status == 0, "\(first.stderr)")
            let again = try await CreditOpsProcess.run(unique, environment: env)
            #expect(again.stdout == first.stdout)
            let parent = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            let child = try await CreditOpsProcess.run(["enqueue", "noop", "--depends-on", parent], environment: env)
            #expect(child.status == 0, "\(child.stderr)")
            let shown = try await CreditOpsProcess.run(["jobs", "show", child.stdout.trimmingCharacters(in: .whitespacesAndNewlines)], environment: env)
            #expect(shown.stdout.contains("waiting"))
            #expect(shown.stdout.contains("depends on") && shown.stdout.contains(parent))

            let bad = try await CreditOpsProcess.run(["enqueue", "noop", "--unique-args", "--on-conflict", "merge"], environment: env)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("on conflict 'merge': expected keep, replace-args or push-run-at"))
            let missing = try await CreditOpsProcess.run(["enqueue", "noop", "--depends-on", "987654"], environment: env)
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("a job cannot depend on job 987654: no such job"))
        }
    }

    static let commands: [[String]] = [
        ["migrate"], ["demo"], ["run"], ["worker"], ["serve"], ["enqueue"], ["jobs", "list"], ["jobs", "show"], ["jobs", "retry"],
        ["jobs", "cancel"], ["jobs", "stats"], ["queues", "list"], ["queues", "pause"], ["queues", "resume"], ["import"], ["seed"],
        ["plan"], ["loans", "check"], ["loans", "mark"], ["followups", "list"], ["followups", "set"], ["aggregates", "rebuild"],
        ["aggregates", "show"], ["aggregates", "backfill"], ["reports", "list"], ["reports", "submit"], ["tokens", "create"],
        ["bench", "queue"], ["bench", "freshness"], ["bench", "reminders"],
    ]

    @Test func helpListsEveryCommand() async throws {
        let output = try await CreditOpsProcess.run(["--help"])
        #expect(output.status == 0)
        for command in Set(Self.commands.map { $0[0] }) {
            #expect(output.stdout.contains("  \(command) "), "missing \(command)")
        }
    }

    @Test(arguments: commands)
    func everyCommandsHelpHasAnExample(_ command: [String]) async throws {
        let output = try await CreditOpsProcess.run(command + ["--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Example"), "\(command.joined(separator: " ")) --help has no example")
    }
}

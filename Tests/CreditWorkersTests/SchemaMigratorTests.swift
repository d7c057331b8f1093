import CreditWorkers
import JobQueue
import Logging
import PostgresNIO
import TestSupport
import Testing

@Suite struct SchemaMigratorTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test func migrateIsIdempotent() async throws {
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            let migrator = SchemaMigrator(client: client, logger: logger)
            #expect(try await migrator.currentVersion() == 0)
            let first = try await migrator.migrate()
            #expect(first.from == 0)
            #expect(first.to == Schema.latestVersion)
            #expect(first.applied == Array(1...Schema.latestVersion))
            let shapeAfterFirst = try await schemaShape(client)
            #expect(shapeAfterFirst.contains("jobs.state job_state"))

            let second = try await migrator.migrate()
            #expect(second.applied.isEmpty)
            #expect(second.to == Schema.latestVersion)
            #expect(try await schemaShape(client) == shapeAfterFirst)
            #expect(try await migrator.currentVersion() == Schema.latestVersion)
        }
    }

    @Test func anEditedAppliedStepIsRefused() async throws {
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            let original = try Schema.parse("-- migrate:step 1 one\nCREATE TABLE a (x int);\n")
            try await SchemaMigrator(client: client, steps: original, logger: logger).migrate()
            let edited = try Schema.parse("-- migrate:step 1 one\nCREATE TABLE a (x bigint);\n")
            let error = await #expect(throws: MigrationError.self) {
                try await SchemaMigrator(client: client, steps: edited, logger: logger).migrate()
            }
            #expect(error?.description.contains("step 1") == true)
            #expect(error?.description.contains("changed after it was applied") == true)
        }
    }

    @Test func stepsAreParsedInOrder() throws {
        let steps = try Schema.parse("-- header\n-- migrate:step 1 first\nSELECT 1;\n-- migrate:step 2 second\nSELECT 2;\n")
        #expect(steps.map(\.version) == [1, 2])
        #expect(steps.map(\.description) == ["first", "second"])
        #expect(steps[1].sql == "SELECT 2;")
        #expect(throws: MigrationError.self) { try Schema.parse("-- migrate:step 2 skipped one\nSELECT 1;\n") }
    }

    @Test func twoTestsDoNotSeeEachOthersRows() async throws {
        // Two databases in use at the same time, as two parallel tests would have them.
        async let first: [Int64] = insertAndRead(kind: "first")
        async let second: [Int64] = insertAndRead(kind: "second")
        let (a, b) = try await (first, second)
        #expect(a.count == 3)
        #expect(b.count == 3)
    }

    private func insertAndRead(kind: String) async throws -> [Int64] {
        try await TestDatabase.withDatabase { client, _ in
            for _ in 0..<3 {
                try await client.query("INSERT INTO jobs (kind) VALUES (\(kind))", logger: logger)
            }
            var kinds: [String] = []
            for try await seen in try await client.query("SELECT kind FROM jobs", logger: logger).decode(String.self) {
                kinds.append(seen)
            }
            #expect(kinds == [kind, kind, kind])
            var ids: [Int64] = []
            for try await id in try await client.query("SELECT id FROM jobs", logger: logger).decode(Int64.self) { ids.append(id) }
            return ids
        }
    }

    /// Tables, columns, types, indexes and constraints, as text: what "the same schema" means.
    private func schemaShape(_ client: PostgresClient) async throws -> [String] {
        var shape: [String] = []
        let columns = try await client.query(
            """
            SELECT table_name || '.' || column_name || ' ' || udt_name FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY 1
            """, logger: logger)
        for try await line in columns.decode(String.self) { shape.append(line) }
        let indexes = try await client.query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1", logger: logger)
        for try await line in indexes.decode(String.self) { shape.append(line) }
        let constraints = try await client.query(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
            logger: logger)
        for try await line in constraints.decode(String.self) { shape.append(line) }
        return shape
    }
}

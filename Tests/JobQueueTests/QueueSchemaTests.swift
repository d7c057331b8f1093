import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// The queue's own migrations: a database that only JobQueue migrated has the same queue as one
/// that an application built through its older steps and then handed over to JobQueue's history.
@Suite struct QueueSchemaTests {
    @Test func migrateOnAnEmptyDatabaseBuildsTheQueueAndIsANoOpTheSecondTime() async throws {
        try await TestDatabase.withDatabase(migrated: false) { client, _ in
            let first = try await JobQueue.migrate(client, logger: silentLogger)
            #expect(first.from == 0)
            #expect(first.applied == Array(1...JobQueue.schema.latestVersion))
            let shape = try await queueShape(client)
            let second = try await JobQueue.migrate(client, logger: silentLogger)
            #expect(second.applied.isEmpty)
            #expect(try await queueShape(client) == shape)

            // The queue works on it: a job goes in and is claimed.
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "noop"))
            #expect(try await queue.job(id: id).state == .available)
        }
    }

    @Test func aQueueMigratedAloneEqualsTheOneAnApplicationBuiltAndHandedOver() async throws {
        let alone = try await TestDatabase.withDatabase(migrated: false) { client, _ in
            try await JobQueue.migrate(client, logger: silentLogger)
            return try await queueShape(client)
        }
        // Test databases are CreditOps': schema.sql's steps, then JobQueue.migrate adopting them.
        let adopted = try await TestDatabase.withDatabase { client, _ in
            try await queueShape(client)
        }
        #expect(alone.count > 40)
        // The application's own index on the queue's opaque `meta` is the one difference.
        #expect(adopted.subtracting(alone).filter { !$0.contains("jobs_meta_unit") } == [])
        #expect(alone.subtracting(adopted) == [])
    }

    @Test func theNotifyTriggerUsesTheQueuesOwnChannel() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let rows = try await client.query(
                "SELECT prosrc FROM pg_proc WHERE proname = 'jobs_notify_inserted'", logger: silentLogger)
            for try await source in rows.decode(String.self) {
                #expect(source.contains("'jobqueue_jobs'"))
                #expect(!source.contains("creditops"))
            }
        }
    }

    /// Autovacuum on a busy jobs table must not wait for a fifth of it to be dead (`bench soak`).
    @Test func theJobsTableIsVacuumedAtAHundredthDead() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let rows = try await client.query(
                "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'jobs'::regclass", logger: silentLogger)
            var options: [String] = []
            for try await values in rows.decode([String].self) { options = values }
            #expect(options.contains("autovacuum_vacuum_scale_factor=0.01"))
            #expect(options.contains("autovacuum_vacuum_insert_scale_factor=0.01"))
            #expect(options.contains("fillfactor=90"))
        }
    }

    /// Each claim and completion would add an entry to an index of the whole history: finished
    /// jobs leave `jobs_kind_state`, and staff still find the failed jobs of a kind through it.
    @Test func completedJobsLeaveTheKindIndexAndFailedOnesAreFoundThroughIt() async throws {
        try await TestDatabase.withDatabase { client, _ in
            // An autovacuum midway (the table asks for one at a hundredth dead) leaves the index's
            // count as it stood then, and ours, finding nothing left to clear, would not count again.
            try await client.query("ALTER TABLE jobs SET (autovacuum_enabled = false)", logger: silentLogger)
            let registry = JobRegistry()
            registry.register(JobDefinition<Tagged>.recording(Recorder()))
            registry.register(JobDefinition<Tagged>(kind: "poison", maxAttempts: 1) { _, _ in throw TestFailure(description: "boom") })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            try await queue.enqueue(batch: (0..<300).map { NewJob(kind: "record", argsJSON: #"{"tag": "t\#($0)"}"#) })
            try await queue.enqueue(batch: (0..<3).map { NewJob(kind: "poison", argsJSON: #"{"tag": "p\#($0)"}"#, maxAttempts: 1) })
            try await withRunningServices([worker(client, registry, queues: ["default": 20])]) {
                try await expectEventually {
                    let table = JobTable(client: client)
                    let completed = try await table.count(.completed), discarded = try await table.count(.discarded)
                    return completed == 300 && discarded == 3
                }
            }
            // VACUUM counts the index's entries as it clears the dead ones the updates left; without
            // INDEX_CLEANUP ON it may leave the index alone when few pages hold dead rows.
            try await client.query("VACUUM (INDEX_CLEANUP ON) jobs", logger: silentLogger)
            let entries = try await client.query(
                "SELECT reltuples::int8 FROM pg_class WHERE relname = 'jobs_kind_state'", logger: silentLogger)
            for try await count in entries.decode(Int64.self) { #expect(count == 3) }

            let plan = try await client.withConnection { connection in
                try await connection.query("SET enable_seqscan = off", logger: silentLogger)
                let rows = try await connection.query(
                    "EXPLAIN SELECT id FROM jobs WHERE kind = 'poison' AND state = 'discarded' ORDER BY id DESC LIMIT 50",
                    logger: silentLogger)
                var text = ""
                for try await line in rows.decode(String.self) { text += line + "\n" }
                try await connection.query("RESET enable_seqscan", logger: silentLogger)
                return text
            }
            #expect(plan.contains("jobs_kind_state"), "failed jobs of a kind are not found through the index: \(plan)")
            let failed = try await queue.jobs(JobFilter(state: .discarded, kind: "poison"))
            #expect(failed.count == 3)
        }
    }

    /// The queue's tables as text: columns with type, default and nullability; indexes,
    /// constraints and triggers; the functions its triggers call.
    private func queueShape(_ client: PostgresClient) async throws -> Set<String> {
        let statement = """
            WITH queue_tables AS (
                SELECT c.oid FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                  AND c.relname IN ('jobs', 'job_queues', 'queue_leaders', 'periodic_jobs', 'queue_workers', 'queue_rescue_clock')
            )
            SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                   || ' null=' || (NOT a.attnotnull) || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
                   || ' identity=' || a.attidentity::text
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid IN (SELECT oid FROM queue_tables) AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM queue_tables)
            UNION ALL
            SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE conrelid IN (SELECT oid FROM queue_tables)
            UNION ALL
            SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || p.prosrc
            FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE t.tgrelid IN (SELECT oid FROM queue_tables) AND NOT t.tgisinternal AND t.tgname LIKE 'jobs_notify%'
            UNION ALL
            SELECT 'type job_state ' || string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum
            WHERE enumtypid = 'job_state'::regtype
            """
        var shape = Set<String>()
        for try await line in try await client.query(PostgresQuery(unsafeSQL: statement), logger: silentLogger).decode(String.self) {
            shape.insert(line)
        }
        return shape
    }
}

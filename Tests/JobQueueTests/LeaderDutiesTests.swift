import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

@Suite struct LeaderDutiesTests {
    @Test func catchUpEnqueuesOnlyTheLatestMissedPeriodAndNeverTwice() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let job = PeriodicJob(name: "daily-plan", schedule: .cron(try CronSchedule("0 7 * * *", timeZone: TimeZone(identifier: "Asia/Ho_Chi_Minh")!))) { scheduledAt in
                NewJob(kind: "noop", argsJSON: #"{"for": \#(Int(scheduledAt.timeIntervalSince1970))}"#)
            }
            let clock = Mutex(try Date.ISO8601FormatStyle().parse("2026-11-20T01:00:00Z"))  // 08:00 in Hà Nội
            let scheduler = PeriodicScheduler(queue: queue, jobs: [job], logger: silentLogger) { clock.withLock { $0 } }
            let first = try await scheduler.enqueueDue()
            #expect(first.count == 1)

            // A week with nothing running: only the latest missed 07:00 is enqueued.
            clock.withLock { $0 = try! Date.ISO8601FormatStyle().parse("2026-11-27T03:00:00Z") }
            let caughtUp = try await scheduler.enqueueDue()
            #expect(caughtUp.count == 1)
            let record = try await queue.job(id: caughtUp["daily-plan"]!)
            #expect(record.uniqueKey == job.uniqueKey(for: try Date.ISO8601FormatStyle().parse("2026-11-27T00:00:00Z")))

            // Again, and from a second scheduler (another leader) at the same time: nothing more.
            let other = PeriodicScheduler(queue: queue, jobs: [job], logger: silentLogger) { clock.withLock { $0 } }
            async let again = scheduler.enqueueDue()
            async let fromOther = other.enqueueDue()
            let (a, b) = try await (again, fromOther)
            #expect(a.isEmpty && b.isEmpty)
            #expect(try await JobTable(client: client).count() == 2)
            let periodic = try await queue.periodicJobs()
            #expect(periodic.map(\.name) == ["daily-plan"])
            #expect(periodic.first?.nextRunAt == (try Date.ISO8601FormatStyle().parse("2026-11-28T00:00:00Z")))
        }
    }

    @Test func oneLeaderAtATimeAndASuccessorAfterResignation() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let config = LeaderElection.Configuration(ttl: .seconds(3), retryInterval: .milliseconds(200))
            let first = LeaderElection(client: client, candidateID: "first", duties: [], configuration: config, logger: silentLogger)
            let second = LeaderElection(client: client, candidateID: "second", duties: [], configuration: config, logger: silentLogger)
            try await withRunningServices([second]) {
                try await withRunningServices([first]) {
                    try await expectEventually { first.isLeader || second.isLeader }
                    #expect(first.isLeader != second.isLeader)
                }
                // `first` shut down (resigning if it led): `second` leads soon after.
                try await expectEventually(timeout: .seconds(5)) { second.isLeader }
                // The table says so too; under a loaded machine the row may sit expired for a moment
                // between two renewals (a 3 s lease), so the check waits for the next one.
                try await expectEventually(timeout: .seconds(10)) { try await queue.leader()?.id == "second" }
            }
            #expect(try await queue.leader() == nil)
        }
    }

    /// One round removes every job past its retention, however many batches that takes, and
    /// nothing else. The clock is driven through `finalized_at`, so load cannot change the answer.
    @Test func oneRoundPrunesEveryExpiredJobAndNothingElse() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            try await queue.enqueue(batch: (0..<2_700).map { _ in NewJob(kind: "noop") })
            // 2,500 finished 2 hours ago (past a 1 hour retention): 125 full batches of 20, more than
            // the 100 batches a round was once capped at. Hours, not seconds, so that no stall of a
            // loaded machine between these statements can move a job across the line.
            try await client.query("""
                UPDATE jobs SET state = CASE WHEN id % 5 = 0 THEN 'cancelled' ELSE 'completed' END::job_state,
                                finalized_at = now() - interval '2 hours'
                WHERE id <= (SELECT min(id) + 2499 FROM jobs)
                """, logger: silentLogger)
            let kept = try await client.query("""
                WITH rest AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM jobs WHERE state = 'available')
                UPDATE jobs SET state = CASE WHEN rest.n <= 100 THEN 'completed' WHEN rest.n <= 150 THEN 'discarded' ELSE 'available' END::job_state,
                                finalized_at = CASE WHEN rest.n <= 100 THEN now() - interval '1 minute'
                                                    WHEN rest.n <= 150 THEN now() - interval '2 hours' END
                FROM rest WHERE jobs.id = rest.id
                RETURNING jobs.id
                """, logger: silentLogger)
            var keptIDs = Set<Int64>()
            for try await id in kept.decode(Int64.self) { keptIDs.insert(id) }
            #expect(keptIDs.count == 200)

            let pruner = JobPruner(
                client: client, configuration: .init(completedRetention: .seconds(3600), batchSize: 20, interval: .seconds(1)),
                logger: silentLogger)
            #expect(try await pruner.pruneOnce() == 2_500)
            // Kept: completed a minute ago (within retention), discarded 2 hours ago (30 days' retention),
            // and everything not finished.
            let remaining = try await client.query("SELECT id FROM jobs", logger: silentLogger)
            var remainingIDs = Set<Int64>()
            for try await id in remaining.decode(Int64.self) { remainingIDs.insert(id) }
            #expect(remainingIDs == keptIDs)
            #expect(try await pruner.pruneOnce() == 0)
        }
    }

    /// Under steady load, while a worker finishes jobs: a pruning round removes every finished job
    /// that was past its retention when the round began. The table's size depends on how fast the
    /// machine runs the worker (a loaded machine leaves more jobs waiting), so the test asserts
    /// what pruning guarantees, not a size; the size under load is a benchmark (`creditops bench
    /// pruning`, BENCHMARKS.md).
    @Test func eachRoundRemovesEveryJobPastRetentionUnderLoad() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = JobRegistry()
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let pruner = JobPruner(
                client: client, configuration: .init(completedRetention: .seconds(1), batchSize: 50, interval: .seconds(1)),
                logger: silentLogger)
            let checked = try await withRunningServices([worker(client, registry)]) {
                var checked = 0
                for round in 0..<20 {
                    try await queue.enqueue(batch: (0..<100).map { _ in NewJob(kind: "noop") })
                    try await Task.sleep(for: .milliseconds(500))
                    // The jobs past retention now; the round's own cutoff is later, so it must
                    // remove at least these, whatever else finishes meanwhile.
                    let expired = try await ids("state IN ('completed', 'cancelled') AND finalized_at < now() - interval '1 second'", client)
                    try await pruner.pruneOnce()
                    let survivors = expired.intersection(try await ids("true", client))
                    #expect(survivors.isEmpty, "round \(round): \(survivors.count) of \(expired.count) jobs past retention survived it")
                    checked += expired.count
                }
                return checked
            }
            // Void unless pruning had work: jobs finish and age within the run.
            #expect(checked > 0, "no job was past its retention at any round")
            print("pruning under load: \(checked) jobs past retention at the rounds' starts, all removed; \(try await count("true", client)) rows left")
        }
    }

    /// The pruner runs as a leader duty: a leading process removes expired jobs by itself.
    @Test func theLeaderPrunes() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            try await queue.enqueue(batch: (0..<300).map { _ in NewJob(kind: "noop") })
            try await client.query(
                "UPDATE jobs SET state = 'completed', finalized_at = now() - interval '1 hour' WHERE id % 3 <> 0", logger: silentLogger)
            let pruner = JobPruner(
                client: client, configuration: .init(completedRetention: .seconds(60), batchSize: 50, interval: .milliseconds(100)),
                logger: silentLogger)
            let election = LeaderElection(
                client: client, candidateID: "pruner", duties: [pruner.duty],
                configuration: .init(ttl: .seconds(3), retryInterval: .milliseconds(200)), logger: silentLogger)
            try await withRunningServices([election]) {
                try await expectEventually(timeout: .seconds(60)) { try await count("true", client) == 100 }
            }
            #expect(try await count("state = 'available'", client) == 100)
        }
    }
}

private func ids(_ condition: String, _ client: PostgresClient) async throws -> Set<Int64> {
    let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT id FROM jobs WHERE \(condition)"), logger: silentLogger)
    var ids = Set<Int64>()
    for try await id in rows.decode(Int64.self) { ids.insert(id) }
    return ids
}

private func count(_ condition: String, _ client: PostgresClient) async throws -> Int {
    let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM jobs WHERE \(condition)"), logger: silentLogger)
    for try await count in rows.decode(Int64.self) { return Int(count) }
    return 0
}

/// Periods are read on PostgreSQL's clock, as `run_at` is, not on the leader host's.
@Suite struct PeriodicDatabaseTimeTests {
    @Test func aPeriodIsDueByTheDatabasesClock() async throws {
        try await TestDatabase.withDatabase { client, database in
            // A server whose clock reads 2030-01-01 10:00:30 UTC: `now()` resolves to this function
            // for new connections (pg_catalog named last in the search path).
            try await client.query("CREATE SCHEMA server_clock", logger: silentLogger)
            try await client.query("""
                CREATE FUNCTION server_clock.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT timestamptz '2030-01-01 10:00:30+00' $$
                """, logger: silentLogger)
            try await client.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(database.name) SET search_path = server_clock, public, pg_catalog"),
                                   logger: silentLogger)
            let skewed = PostgresClient(configuration: database.configuration, backgroundLogger: silentLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await skewed.run() }
                defer { group.cancelAll() }
                let queue = JobQueue(client: skewed, registry: JobRegistry(), logger: silentLogger)
                let hourly = PeriodicJob(name: "hourly", schedule: .cron(try CronSchedule("0 * * * *"))) { _ in NewJob(kind: "noop") }
                let enqueued = try await PeriodicScheduler(queue: queue, jobs: [hourly], logger: silentLogger).enqueueDue()
                let record = try await queue.job(id: try #require(enqueued["hourly"]))
                #expect(record.uniqueKey == hourly.uniqueKey(for: try Date.ISO8601FormatStyle().parse("2030-01-01T10:00:00Z")))
            }
        }
    }
}

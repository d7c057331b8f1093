import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// A worker that cannot renew a running job's lease (PostgreSQL refusing the renewal, as a slow
/// or unreachable server looks to the worker) stops the handler before the lease runs out, so it
/// never runs on while the rescue gives the job to another worker.
@Suite struct UnrenewableLeaseTests {
    @Test func theHandlerIsStoppedBeforeItsLeaseRunsOut() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let stoppedAt = Mutex<Date?>(nil)
            let registry = JobRegistry()
            registry.register(JobDefinition<Pause>(kind: "long", maxAttempts: 5) { args, _ in
                do {
                    try await Task.sleep(for: .milliseconds(args.milliseconds))
                } catch {
                    stoppedAt.withLock { $0 = Date() }
                    throw error
                }
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "long", argsJSON: #"{"milliseconds": 60000}"#, maxAttempts: 5))
            // Every write to the running job refused: renewals, and its failure record until the
            // test allows it; the claim (available → running) passes.
            try await refuseUpdates(client, when: "OLD.state = 'running'")
            // A 6 s lease: renewals every 2 s all fail, so the handler must stop by 4.5 s.
            let expiry = try await withRunningServices([worker(client, registry, lease: .seconds(6))]) {
                try await expectEventually(timeout: .seconds(30)) { stoppedAt.withLock { $0 } != nil }
                let leaseEnd = try await client.query(
                    "SELECT extract(epoch FROM lease_expires_at)::float8 FROM jobs WHERE id = \(id)", logger: silentLogger)
                var expiry: Double?
                for try await value in leaseEnd.decode(Double?.self) { expiry = value }
                try await client.query("DROP TRIGGER refuse_renewal ON jobs", logger: silentLogger)
                // The stop is recorded as a failed attempt, so the job runs again after its backoff.
                try await expectEventually { try await JobTable(client: client).state(of: id) != .running }
                return expiry
            }
            let stopped = try #require(stoppedAt.withLock { $0 })
            // Still held in the database when the handler stopped: nobody else could have had it.
            #expect(stopped.timeIntervalSince1970 < (expiry ?? 0), "stopped at \(stopped), lease to \(String(describing: expiry))")
            let record = try await JobQueue(client: client, registry: registry, logger: silentLogger).job(id: id)
            #expect(record.errors.map(\.error) == ["stopped: the worker could not renew the job's lease (PostgreSQL slow or unreachable)"])
        }
    }
}

/// Makes PostgreSQL refuse every update of a job that matches `condition` (a trigger's WHEN, over
/// OLD and NEW), as a slow or unreachable server looks to the worker; `DROP TRIGGER refuse_renewal
/// ON jobs` lifts it.
private func refuseUpdates(_ client: PostgresClient, when condition: String) async throws {
    try await client.query("""
        CREATE FUNCTION refuse_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'renewal refused for the test'; END $$
        """, logger: silentLogger)
    try await client.query(PostgresQuery(unsafeSQL: """
        CREATE TRIGGER refuse_renewal BEFORE UPDATE ON jobs FOR EACH ROW
        WHEN (\(condition)) EXECUTE FUNCTION refuse_renewal()
        """), logger: silentLogger)
}

/// A handler that returns just as the worker stops it for a lease it cannot renew has done its
/// work: the job completes once, rather than failing an attempt and running again.
@Suite struct ReturnAtTheStopTests {
    @Test func aHandlerThatReturnsAsItIsStoppedCompletesOnce() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let runs = Mutex(0)
            let registry = JobRegistry()
            // Finishes its work without looking at cancellation (the stop reaches it mid-way), then returns.
            registry.register(JobDefinition<Pause>(kind: "finishing", maxAttempts: 5) { args, _ in
                let end = ContinuousClock.now + .milliseconds(args.milliseconds)
                while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(50)) }
                runs.withLock { $0 += 1 }
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "finishing", argsJSON: #"{"milliseconds": 6000}"#, maxAttempts: 5))
            // Renewals refused (the outcome, a change of state, passes): with a 6 s lease the
            // worker stops the handler by 4.5 s, and the handler returns at 6 s, within the grace.
            try await refuseUpdates(client, when: "OLD.state = 'running' AND NEW.state = 'running'")
            try await withRunningServices([worker(client, registry, lease: .seconds(6))]) {
                try await expectEventually(timeout: .seconds(30)) { try await JobTable(client: client).state(of: id) != .running }
                // Long enough for a retry after the default backoff to have started.
                try await Task.sleep(for: .seconds(3))
            }
            let record = try await queue.job(id: id)
            #expect(record.state == .completed)
            #expect(record.attempt == 1 && record.errors.isEmpty)
            #expect(runs.withLock { $0 } == 1)
        }
    }
}

/// The rescue catches up in one round however many jobs a crashed fleet left behind.
@Suite struct RescueCatchUpTests {
    @Test func oneRoundRescuesEveryExpiredLease() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await client.query("""
                INSERT INTO jobs (kind, state, attempt, max_attempts, attempted_by, attempted_at, lease_expires_at)
                SELECT 'noop', 'running', 1, 5, 'crashed-worker', now() - interval '2 minutes', now() - interval '1 minute'
                FROM generate_series(1, 2500)
                """, logger: silentLogger)
            let maintenance = QueueMaintenanceService(client: client, configuration: .init(batchSize: 1000), logger: silentLogger)
            #expect(try await maintenance.rescueExpired() == 2500)
            #expect(try await JobTable(client: client).count(.running) == 0)
            #expect(try await JobTable(client: client).count(.available) == 2500)
        }
    }
}

/// The queue's statements run on connections of their own, which PostgreSQL itself stops after
/// the queue's deadline.
@Suite struct QueueConnectionTests {
    @Test func queueConnectionsCarryServerSideLimits() async throws {
        try await TestDatabase.withDatabase { _, database in
            let queueClient = PostgresClient(configuration: database.configuration.forQueue(), backgroundLogger: silentLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await queueClient.run() }
                defer { group.cancelAll() }
                let rows = try await queueClient.query("""
                    SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout'),
                           current_setting('application_name')
                    """, logger: silentLogger)
                for try await (statement, idle, name) in rows.decode((String, String, String).self) {
                    #expect(statement == "15s" && idle == "1min" && name == QueueConnections.applicationName)
                }
                // A statement longer than the limit is cancelled by the server, not left to commit later.
                let error = await #expect(throws: PSQLError.self) {
                    for try await _ in try await queueClient.query("SELECT pg_sleep(20)", logger: silentLogger) {}
                }
                #expect(error?.serverInfo?[.sqlState] == "57014")
            }
        }
    }
}

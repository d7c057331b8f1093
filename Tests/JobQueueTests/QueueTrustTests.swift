import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// Worker heartbeats, the rescue's view of them, and the limits that keep a worker and the
/// queue's callers from hanging.
@Suite struct QueueTrustTests {
    @Test func aWorkerRecordsItsHeartbeatAndSignsOff() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let recorder = Recorder()
            let registry = JobRegistry()
            registry.register(JobDefinition<Pause>.pausing(recorder))
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            _ = try await queue.enqueue(NewJob(kind: "pause", argsJSON: #"{"milliseconds": 60000}"#))
            let worker = WorkerService(
                client: client, registry: registry,
                configuration: .init(queues: ["default": 3, "other": 2], workerID: "w1", leaseDuration: .seconds(9), drainTimeout: .zero),
                logger: silentLogger)
            try await withRunningServices([worker]) {
                // Generous: in a whole `swift test` on 2 cores a 3 s lease once missed this within 30 s.
                try await expectEventually(timeout: .seconds(90)) {
                    try await client.integer("SELECT running FROM queue_workers WHERE id = 'w1'") == 1
                }
                let row = try await client.text("""
                    SELECT host || ' ' || pid || ' ' || array_to_string(queues, ',') || ' ' || concurrency || ' ' || lease_seconds
                    FROM queue_workers WHERE id = 'w1'
                    """)
                #expect(row == "\(ProcessInfo.processInfo.hostName) \(ProcessInfo.processInfo.processIdentifier) default,other 5 9")
                let first = try await client.text("SELECT last_seen_at::text FROM queue_workers WHERE id = 'w1'")
                // Beats every third of the lease (3 s).
                try await expectEventually(timeout: .seconds(30)) {
                    try await client.text("SELECT last_seen_at::text FROM queue_workers WHERE id = 'w1'") != first
                }
            }
            #expect(try await client.integer("SELECT count(*) FROM queue_workers") == 0)
        }
    }

    @Test func theRescueTakesTheJobsOfAWorkerWhoseHeartbeatStopped() async throws {
        try await TestDatabase.withDatabase { client, _ in
            // Both jobs hold an hour's lease; only the silent worker's is taken.
            try await client.query("""
                INSERT INTO queue_workers (id, host, pid, queues, concurrency, lease_seconds, last_seen_at) VALUES
                    ('silent', 'h1', 1, '{default}', 10, 30, now() - interval '31 seconds'),
                    ('alive',  'h2', 2, '{default}', 10, 30, now() - interval '5 seconds')
                """, logger: silentLogger)
            // The silent worker's second job was claimed after its last heartbeat: its lease decides.
            try await client.query("""
                INSERT INTO jobs (kind, state, attempt, max_attempts, attempted_by, attempted_at, lease_expires_at, meta)
                VALUES ('noop', 'running', 1, 5, 'silent', now() - interval '1 minute', now() + interval '1 hour', '{"job": "held"}'),
                       ('noop', 'running', 1, 5, 'silent', now(), now() + interval '1 hour', '{"job": "claimed since"}'),
                       ('noop', 'running', 1, 5, 'alive', now() - interval '1 minute', now() + interval '1 hour', '{"job": "alive"}')
                """, logger: silentLogger)
            let maintenance = QueueMaintenanceService(client: client, logger: silentLogger)
            #expect(try await maintenance.rescueExpired() == 1)
            #expect(try await client.text("SELECT state::text FROM jobs WHERE meta ->> 'job' = 'held'") == "available")
            #expect(try await client.text("SELECT errors -> 0 ->> 'error' FROM jobs WHERE meta ->> 'job' = 'held'")
                    == "worker silent vanished: its heartbeat stopped")
            #expect(try await client.text("SELECT state::text FROM jobs WHERE meta ->> 'job' = 'claimed since'") == "running")
            #expect(try await client.text("SELECT state::text FROM jobs WHERE meta ->> 'job' = 'alive'") == "running")
        }
    }

    /// A rescue that comes long after the previous one (PostgreSQL was frozen or away) renews the
    /// leases that ran out meanwhile instead of taking their jobs: nobody could renew then. A lease
    /// that had run out before, while the rescue was watching, is taken as usual.
    @Test func aRescueAfterAGapRenewsLeasesThatRanOutDuringIt() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await client.query("""
                INSERT INTO queue_workers (id, host, pid, queues, concurrency, lease_seconds, last_seen_at)
                VALUES ('w', 'h', 1, '{default}', 10, 30, now() - interval '1 minute')
                """, logger: silentLogger)
            try await client.query("""
                INSERT INTO jobs (kind, state, attempt, max_attempts, attempted_by, attempted_at, lease_expires_at, meta)
                VALUES ('noop', 'running', 1, 5, 'w', now() - interval '2 minutes', now() - interval '1 minute', '{"lapsed": "during"}'),
                       ('noop', 'running', 1, 5, 'w', now() - interval '4 minutes', now() - interval '3 minutes', '{"lapsed": "before"}')
                """, logger: silentLogger)
            try await client.query("INSERT INTO queue_rescue_clock (ticked_at) VALUES (now() - interval '2 minutes')", logger: silentLogger)
            let maintenance = QueueMaintenanceService(client: client, configuration: .init(rescueInterval: .seconds(5)), logger: silentLogger)
            #expect(try await maintenance.rescueExpired() == 1)
            #expect(try await client.text("SELECT state::text FROM jobs WHERE meta ->> 'lapsed' = 'before'") == "available")
            // Two of the worker's 30 s leases from the rescue, and a fresh heartbeat.
            #expect(try await client.integer("""
                SELECT count(*) FROM jobs, queue_rescue_clock
                WHERE meta ->> 'lapsed' = 'during' AND state = 'running' AND lease_expires_at = ticked_at + interval '60 seconds'
                """) == 1)
            #expect(try await client.integer("SELECT count(*) FROM queue_workers, queue_rescue_clock WHERE last_seen_at = ticked_at") == 1)
            // No gap now, and nothing expired: nothing to take.
            #expect(try await maintenance.rescueExpired() == 0)
            // Once the fresh lease runs out too, the job is taken.
            try await client.query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE state = 'running'", logger: silentLogger)
            #expect(try await maintenance.rescueExpired() == 1)
        }
    }

    /// With a five-minute lease, renewals come every 100 s: a cancellation that stops the handler
    /// within seconds came over its LISTEN channel.
    @Test func aCancellationArrivesOnItsOwnChannel() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let recorder = Recorder()
            let registry = JobRegistry()
            registry.register(JobDefinition<Pause>.pausing(recorder))
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "pause", argsJSON: #"{"milliseconds": 120000}"#))
            try await withRunningServices([worker(client, registry, lease: .seconds(300))]) {
                try await expectListening(client)
                try await expectEventually { try await JobTable(client: client).state(of: id) == .running }
                // Wait out the renewal that follows the listener's (re)connection.
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await queue.cancel(jobID: id) == .running)
                try await expectEventually(timeout: .seconds(20)) { recorder.cancelledIDs.contains(id) }
            }
            #expect(try await JobTable(client: client).state(of: id) == .cancelled)
        }
    }

    @Test func aSnoozedJobRunsAgainWithoutUsingAnAttempt() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let runs = Mutex<[Int]>([])
            let registry = JobRegistry()
            registry.register(JobDefinition<NoArguments>(kind: "snoozy", maxAttempts: 1) { _, context in
                let count = runs.withLock { runs in
                    runs.append(context.attempt)
                    return runs.count
                }
                if count < 3 { throw JobSnooze(.milliseconds(300)) }
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "snoozy", maxAttempts: 1))
            try await withRunningServices([fastMaintenance(client), worker(client, registry)]) {
                try await expectEventually { try await JobTable(client: client).state(of: id) == .completed }
            }
            // One attempt allowed, three runs: each snooze allowed one more, so none was used up.
            #expect(runs.withLock { $0 } == [1, 2, 3])
            let record = try await queue.job(id: id)
            #expect(record.attempt == 3 && record.maxAttempts == 3 && record.errors.isEmpty)
        }
    }

    @Test func tooManyAbandonedHandlersStopClaimingAndMakeTheWorkerUnhealthy() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = JobRegistry()
            registry.register(JobDefinition<NoArguments>(kind: "stubborn", maxAttempts: 1, timeout: .milliseconds(100)) { _, _ in
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 60) { continuation.resume() }
                }
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let first = try await queue.enqueue(NewJob(kind: "stubborn", maxAttempts: 1))
            let worker = WorkerService(
                client: client, registry: registry,
                configuration: .init(queues: ["default": 1], pollInterval: .milliseconds(100), drainTimeout: .zero,
                                     cancellationGrace: .milliseconds(100), maxAbandonedHandlers: 1),
                logger: silentLogger)
            #expect(worker.health == .healthy)
            try await withRunningServices([worker]) {
                try await expectEventually { try await JobTable(client: client).state(of: first) == .discarded }
                guard case .unhealthy(let reason) = worker.health else {
                    Issue.record("a worker with an abandoned handler at its cap is unhealthy")
                    return
                }
                #expect(reason.contains("1 job handlers ignored their cancellation"))
                let second = try await queue.enqueue(NewJob(kind: "noop", maxAttempts: 1))
                try await Task.sleep(for: .seconds(1))
                #expect(try await JobTable(client: client).state(of: second) == .available, "an unhealthy worker claims nothing")
            }
        }
    }

    /// A call of the queue's API gives up at its deadline when PostgreSQL does not answer, instead
    /// of hanging the CLI command or the HTTP request that made it.
    @Test func aQueueCallGivesUpAtItsDeadline() async throws {
        try await TestDatabase.withDatabase { _, database in
            let (proxy, proxied) = try await database.throughProxy()
            let stalledClient = PostgresClient(configuration: proxied, backgroundLogger: silentLogger)
            try await withRunningServices([stalledClient]) {
                // A connection through the proxy first, under the default deadline (a loaded machine is slow).
                _ = try await JobQueue(client: stalledClient, registry: JobRegistry(), logger: silentLogger).stats()
                let queue = JobQueue(client: stalledClient, registry: JobRegistry(), logger: silentLogger, deadline: .seconds(1))
                proxy.stall()
                let started = ContinuousClock.now
                let error = await #expect(throws: QueueError.self) { try await queue.stats() }
                #expect(error?.code == .timedOut)
                #expect(error?.message.contains("counting jobs: no answer from PostgreSQL within 1.0 seconds") == true, "\(String(describing: error))")
                #expect(ContinuousClock.now - started < .seconds(10))
                let enqueue = await #expect(throws: QueueError.self) { try await queue.enqueue(NewJob(kind: "noop")) }
                #expect(enqueue?.code == .timedOut)
                proxy.resume()
            }
            await proxy.stop()
        }
    }
}

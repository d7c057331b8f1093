import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// The queue through a real PgBouncer in `pool_mode = transaction`, where LISTEN cannot work and
/// a named prepared statement may be on another server connection by the next call.
@Suite struct PgBouncerTests {
    static func pooledClient(_ database: TestDatabase, _ bouncer: PgBouncer) -> PostgresClient {
        let configuration = PostgresClient.Configuration(
            host: "127.0.0.1", port: bouncer.port, username: database.configuration.username, password: nil,
            database: database.configuration.database, tls: .disable)
        return PostgresClient(configuration: configuration.forQueue(transactionPooling: true), backgroundLogger: silentLogger)
    }

    /// One worker told not to LISTEN (`--no-listen`), one that finds out by itself: both complete
    /// every job, each started within about a poll interval of becoming runnable.
    @Test(arguments: [false, true]) func jobsCompleteByPollingThroughPgBouncer(detectsByItself: Bool) async throws {
        try await TestDatabase.withDatabase { client, database in
            let bouncer = try await PgBouncer.start(to: try #require(database.configuration.port))
            do {
                try await Self.workThrough(bouncer, database: database, client: client, detectsByItself: detectsByItself)
            } catch {
                await bouncer.stop()
                throw error
            }
            await bouncer.stop()
        }
    }

    static func workThrough(_ bouncer: PgBouncer, database: TestDatabase, client: PostgresClient, detectsByItself: Bool) async throws {
        let pooled = Self.pooledClient(database, bouncer)
        QueueConnections.markTransactionPooled(pooled)
        let recorder = Recorder()
        let registry = JobRegistry()
        registry.register(.recording(recorder))
        let queue = JobQueue(client: pooled, registry: registry, logger: silentLogger)
        let worker = WorkerService(
            client: pooled, registry: registry,
            configuration: .init(queues: ["default": 5], pollInterval: .milliseconds(500), listens: detectsByItself),
            logger: silentLogger)
        try await withRunningServices([pooled, fastMaintenance(pooled), worker]) {
            // Many single enqueues (a named statement would be missing on other server connections) and a batch.
            var enqueued: [Int64] = []
            for index in 0..<40 { enqueued.append(try await queue.enqueue(NewJob(kind: "record", argsJSON: #"{"tag": "\#(index)"}"#))) }
            enqueued += try await queue.enqueue(batch: (0..<40).map { NewJob(kind: "record", argsJSON: #"{"tag": "b\#($0)"}"#) })
            let ids = enqueued
            try await expectEventually(timeout: .seconds(60)) { try await JobTable(client: client).count(.completed) == ids.count }
            #expect(Set(recorder.runs.keys) == Set(ids) && recorder.runs.values.allSatisfy { $0 == 1 })
            // Idle now: nothing but the poll (0.5 s) can start a new job, LISTEN delivers nothing through
            // PgBouncer. Bounded loosely: a whole `swift test` on 2 cores once took 3.7 s.
            try await Task.sleep(for: .seconds(1))
            let late = try await queue.enqueue(NewJob(kind: "record", argsJSON: #"{"tag": "late"}"#))
            try await expectEventually { try await JobTable(client: client).state(of: late) == .completed }
            let waited = try await client.integer(
                "SELECT (extract(epoch FROM attempted_at - created_at) * 1000)::int FROM jobs WHERE id = \(late)")
            #expect(waited < 10_000, "waited \(waited) ms for a 500 ms poll")
        }
        if !detectsByItself {
            #expect(try await client.integer("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND datname = current_database()") == 0,
                    "a worker told not to listen never sent LISTEN")
        }
    }
}

import CreditWorkers
import EmbeddedPostgres
import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport

extension ReliabilityTests {
    /// PostgreSQL stopped for ten seconds in the middle of a delivery run, on a server of this
    /// test's own (the other tests' server must stay up).
    @Suite struct DatabaseOutage {
        static let concurrency = 20

        @Test func workersRideOutTenSecondsWithoutTheDatabase() async throws {
            let scale = ReliabilityScale.current
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-outage-\(UUID().uuidString)").path
            let configuration = EmbeddedPostgres.Configuration(dataDirectory: folder, durability: .throwaway, removeWhenProcessExits: true)
            let server = EmbeddedPostgres(configuration: configuration, logger: silentLogger)
            let endpoint = try await server.start()
            // The same folder and port again after the outage: what a restarted server looks like to clients.
            var again = configuration
            again.port = endpoint.port
            let restarted = EmbeddedPostgres(configuration: again, logger: silentLogger)
            // Stopped, then removed, here rather than in a defer: a defer cannot wait for the stop,
            // and the folder must not go while the server still runs.
            var failure: (any Error)?
            do {
                try await Self.deliverAcrossAnOutage(url: endpoint.url + "?sslmode=disable", server: server, restarted: restarted, scale: scale)
            } catch {
                failure = error
            }
            try? await restarted.stop()
            try? await server.stop()
            try? FileManager.default.removeItem(atPath: folder)
            if let failure { throw failure }
        }

        static func deliverAcrossAnOutage(
            url: String, server: EmbeddedPostgres, restarted: EmbeddedPostgres, scale: ReliabilityScale
        ) async throws {
            let migrated = try await CreditOpsProcess.run(["migrate"], environment: ["DATABASE_URL": url])
            #expect(migrated.status == 0, "\(migrated.stderr)")
            let client = PostgresClient(configuration: try DatabaseURL.configuration(url), backgroundLogger: silentLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                try await OverdueLoans.prepare(count: scale.outageDeliveries, client: client, environment: ["DATABASE_URL": url])
                let planned = try await CreditOpsProcess.run(["plan", "overdue"], environment: ["DATABASE_URL": url], timeout: .seconds(300))
                #expect(planned.status == 0, "\(planned.stderr)")
                let outbox = try await client.integer("SELECT count(*) FROM notifications")

                let sink = WebhookSink { _, _ in .init(status: 200, delay: .milliseconds(20)) }
                try await sink.run { webhook in
                    // Attempts stuck on a connection the restart killed are cancelled after 5 + 20 s.
                    let workers = try DeliveryWorkers(count: 2, concurrency: Self.concurrency, leaseSeconds: 5,
                                                      databaseURL: url, webhookURL: webhook,
                                                      extraEnvironment: ["CREDITOPS_WEBHOOK_TIMEOUT_SECONDS": "5", "CREDITOPS_WEBHOOK_RETRY_SECONDS": "1"])
                    defer { workers.cleanUp() }
                    #expect(try await eventually(timeout: .seconds(120)) { sink.requestCount >= outbox / 4 })

                    try await server.stop()
                    let stoppedAt = ContinuousClock.now
                    let sentBefore = sink.requestCount
                    try await Task.sleep(for: .seconds(10))
                    #expect(workers.allAlive, "a worker exited while the database was away: \(workers.stderr.suffix(2000))")
                    try await restarted.start()
                    let restartedAt = ContinuousClock.now

                    let resumed = try await eventually(timeout: .seconds(60)) {
                        sink.requests.last.map { $0.at > restartedAt } ?? false
                    }
                    #expect(resumed, "no delivery after PostgreSQL came back: \(workers.stderr.suffix(2000))")
                    let firstAfter = sink.requests.first { $0.at > restartedAt }?.at ?? .now
                    // The pool reconnects on its own; a query may still fail just after the restart.
                    let finished = try await eventually(timeout: .seconds(180)) {
                        (try? await client.integer("SELECT count(*) FROM notifications WHERE state = 'pending'")) == 0
                    }
                    let doneAt = ContinuousClock.now
                    if !finished {
                        let stuck = try await client.texts("""
                            SELECT j.id || ' ' || j.state || ', attempt ' || j.attempt || ' by ' || coalesce(j.attempted_by, '-')
                                   || ', notification ' || n.state || ' after ' || n.attempts || ' attempts'
                            FROM jobs j JOIN notifications n ON n.id = (j.args->>'notification')::int8 WHERE n.state = 'pending' LIMIT 10
                            """)
                        Issue.record("not every reminder was delivered after the outage; stuck: \(stuck); \(workers.stderr.suffix(3000))")
                    }
                    #expect(workers.allAlive)
                    let statuses = await workers.terminate()
                    #expect(statuses == [0, 0], "the workers stop cleanly on SIGTERM after the outage")

                    let logged = workers.stderr
                    #expect(logged.contains("failed; retrying") || logged.contains("failed; reconnecting"),
                            "the workers said that the database was away: \(logged.suffix(2000))")
                    let sent = try await client.integer("SELECT count(*) FROM notifications WHERE state = 'sent'")
                    #expect(sent == outbox, "nothing lost")
                    let keys = Set(try await client.texts("SELECT idempotency_key FROM notifications"))
                    let record = SinkRecord(sink)
                    #expect(record.difference(from: keys) == nil)
                    // A repeat needs an attempt whose outcome was lost: one in flight when the database
                    // went away (at most the workers' slots), or one recorded as failed (timed out
                    // on a loaded machine) and tried again. Counting the latter keeps the bound true
                    // whatever the load, and still catches a repeat nothing explains.
                    let failedAttempts = try await client.integer(
                        "SELECT coalesce(sum(jsonb_array_length(errors)), 0)::int FROM jobs WHERE kind = 'notifications.deliver'")
                    #expect(record.repeatedRequests <= 2 * Self.concurrency + failedAttempts,
                            "only requests in flight when the database went away, or failed attempts, repeat (\(failedAttempts) failed)")
                    #expect(record.doublesAfterDeduplication == 0)
                    #expect(try await client.integer("SELECT count(*) FROM jobs WHERE state = 'running'") == 0)

                    let gaveUp = logged.components(separatedBy: "no answer from PostgreSQL within").count - 1
                    let leftBehind = logged.components(separatedBy: "leaving it behind").count - 1
                    ReliabilityReport.record("PostgreSQL stopped for 10 s", [
                        ("deliveries", "\(outbox)"), ("delivered before the stop", "\(sentBefore)"),
                        ("workers", "2 × concurrency \(Self.concurrency), lease 5 s"),
                        ("workers that exited", "0"), ("lost", "\(outbox - sent)"),
                        ("repeated requests (same key)", "\(record.repeatedRequests)"),
                        ("doubles after de-duplication", "\(record.doublesAfterDeduplication)"),
                        ("first delivery after PostgreSQL was back", (firstAfter - restartedAt).shown),
                        ("all delivered after PostgreSQL was back", (doneAt - restartedAt).shown),
                        ("stopped at", "after \(sentBefore) requests, \((restartedAt - stoppedAt).shown) away"),
                        ("statements given up after 15 s", "\(gaveUp)"), ("handlers left behind after their time-out", "\(leftBehind)"),
                    ])
                }
            }
        }
    }
}

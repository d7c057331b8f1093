import CreditWorkers
import EmbeddedPostgres
import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport

extension ReliabilityTests {
    /// PostgreSQL gone in the middle of a delivery run, then back, on a server of this test's own
    /// (the other tests' server must stay up): stopped for ten seconds, or crashed and restarted.
    /// One at a time: three servers and six worker processes at once on two cores time out leases
    /// for no other reason.
    @Suite(.serialized) struct DatabaseOutage {
        static let concurrency = 20

        /// How PostgreSQL goes away.
        enum Departure: Sendable {
            /// `pg_ctl stop -m fast` (sessions ended, a checkpoint), back after 10 s.
            case stop
            /// `pg_ctl stop -m immediate`: no checkpoint; the next start recovers from the WAL.
            case immediateStop
            /// SIGKILL of the postmaster, as the out-of-memory killer does it; recovery from the WAL.
            case kill

            var title: String {
                switch self {
                case .stop: "PostgreSQL stopped for 10 s"
                case .immediateStop: "PostgreSQL stopped with -m immediate, restarted after 2 s"
                case .kill: "PostgreSQL's postmaster killed (kill -9), restarted after 2 s"
                }
            }

            var away: Duration { self == .stop ? .seconds(10) : .seconds(2) }

            /// A crash loses what a commit has not written when `synchronous_commit` is off: the
            /// crashing servers keep it on, as production does (fsync stays off: the machine does not crash).
            var durability: EmbeddedPostgres.Configuration.Durability { self == .stop ? .throwaway : .survivesServerCrash }

            func happen(to server: EmbeddedPostgres) async throws {
                switch self {
                case .stop: try await server.stop()
                case .immediateStop: try await server.stop(.immediate)
                case .kill: try await server.kill()
                }
            }
        }

        @Test func workersRideOutTenSecondsWithoutTheDatabase() async throws {
            try await Self.deliver(across: .stop)
        }

        @Test func nothingIsLostWhenPostgreSQLStopsImmediately() async throws {
            try await Self.deliver(across: .immediateStop)
        }

        @Test func nothingIsLostWhenThePostmasterIsKilled() async throws {
            try await Self.deliver(across: .kill)
        }

        static func deliver(across departure: Departure) async throws {
            let scale = ReliabilityScale.current
            try await withOwnServer(durability: departure.durability) { server, restarted, url in
                let migrated = try await CreditOpsProcess.run(["migrate"], environment: ["DATABASE_URL": url])
                #expect(migrated.status == 0, "\(migrated.stderr)")
                try await withDatabaseClient(url) { client in
                    try await withOverdueDelivery(url: url, count: scale.outageDeliveries, concurrency: Self.concurrency, client: client) { outbox, sink, workers in
                        #expect(try await eventually(timeout: .seconds(120)) { sink.requestCount >= outbox / 4 })

                        try await departure.happen(to: server)
                        let stoppedAt = ContinuousClock.now
                        let sentBefore = sink.requestCount
                        try await Task.sleep(for: departure.away)
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
                        ReliabilityReport.record(departure.title, [
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
}

import Foundation
import PostgresNIO
import Testing
import TestSupport

extension ReliabilityTests {
    /// Two `creditops worker` processes deliver reminders while one of them, at random, is
    /// SIGKILLed every two to four seconds and started again.
    @Suite struct WorkerKills {
        static let concurrency = 20

        @Test func killedWorkersLoseNothingAndRepeatOnlyWhatWasInFlight() async throws {
            let scale = ReliabilityScale.current
            try await TestDatabase.withDatabase { client, database in
                try await OverdueLoans.prepare(count: scale.killDeliveries, client: client, environment: ["DATABASE_URL": database.url])
                // A gateway that takes 20 ms per request, so that requests are in flight at each kill.
                let sink = WebhookSink { _, _ in .init(status: 200, delay: .milliseconds(20)) }
                try await sink.run { url in
                    let planned = try await CreditOpsProcess.run(["plan", "overdue"], environment: ["DATABASE_URL": database.url],
                                                                 timeout: .seconds(300))
                    #expect(planned.status == 0, "\(planned.stderr)")
                    // The outbox is the truth: a leader's catch-up planning may add reminders of its own.
                    let outbox = try await client.integer("SELECT count(*) FROM notifications")
                    #expect(outbox >= scale.killDeliveries)

                    let workers = try DeliveryWorkers(count: 2, concurrency: Self.concurrency, leaseSeconds: 2,
                                                      databaseURL: database.url, webhookURL: url)
                    defer { workers.cleanUp() }
                    let started = ContinuousClock.now
                    var kills: [ContinuousClock.Instant] = []
                    var finished = false
                    while !finished && ContinuousClock.now - started < scale.killTimeLimit {
                        let nextKill = ContinuousClock.now + .milliseconds(Int.random(in: 2000...4000))
                        while ContinuousClock.now < nextKill {
                            finished = try await client.integer("SELECT count(*) FROM notifications WHERE state = 'pending'") == 0
                            if finished { break }
                            try await Task.sleep(for: .milliseconds(100))
                        }
                        if finished { break }
                        kills.append(try await workers.killAndRestart(Int.random(in: 0..<2)))
                    }
                    let elapsed = ContinuousClock.now - started
                    #expect(finished, "not every reminder was delivered within \(scale.killTimeLimit): \(workers.stderr.suffix(2000))")
                    // A job the last kill interrupted (an aggregates recompute, say) keeps its lease
                    // until it runs out and the leader rescues it: let that happen before stopping.
                    let settled = try await eventually(timeout: .seconds(60)) {
                        try await client.integer("SELECT count(*) FROM jobs WHERE state = 'running'") == 0
                    }
                    #expect(settled, "a killed worker's job stayed running: the leader rescues expired leases every 5 s")
                    let statuses = await workers.terminate()
                    #expect(statuses == [0, 0], "the last workers stop cleanly on SIGTERM: \(workers.stderr.suffix(2000))")

                    let sent = try await client.integer("SELECT count(*) FROM notifications WHERE state = 'sent'")
                    #expect(sent == outbox, "every notification is sent")
                    let keys = Set(try await client.texts("SELECT idempotency_key FROM notifications"))
                    let record = SinkRecord(sink)
                    #expect(record.difference(from: keys) == nil, "every idempotency key reached the sink, and nothing else did")
                    #expect(record.repeatedRequests <= kills.count * Self.concurrency,
                            "at most the requests in flight at a kill are repeated")
                    #expect(record.doublesAfterDeduplication == 0)
                    // A repeat needs a kill between the request that was lost and the one that
                    // replaced it (the sink may read a dead worker's last bytes a moment late).
                    var unexplained: [String] = []
                    for (key, received) in record.byKey where received.count > 1 {
                        for (before, after) in zip(received, received.dropFirst())
                        where !kills.contains(where: { before.at <= $0 + .seconds(1) && $0 <= after.at }) {
                            unexplained.append(key)
                        }
                    }
                    #expect(unexplained.isEmpty, "repeated without a kill in between: \(unexplained.prefix(5))")
                    #expect(try await client.integer("SELECT count(*) FROM jobs WHERE state = 'running'") == 0, "no job is left running")
                    #expect(try await client.integer("SELECT count(*) FROM jobs WHERE kind = 'notifications.deliver' AND state <> 'completed'") == 0)

                    ReliabilityReport.record("Workers killed during delivery", [
                        ("deliveries", "\(outbox)"), ("workers", "2 × concurrency \(Self.concurrency), lease 2 s"),
                        ("kills (SIGKILL)", "\(kills.count)"), ("restarts", "\(kills.count)"),
                        ("lost", "\(outbox - sent)"), ("requests at the sink", "\(record.requests.count)"),
                        ("repeated requests (same key)", "\(record.repeatedRequests) (bound: kills × concurrency = \(kills.count * Self.concurrency))"),
                        ("doubles after de-duplication", "\(record.doublesAfterDeduplication)"),
                        ("longest silence at the sink", record.longestSilence.shown),
                        ("elapsed", elapsed.shown),
                        ("throughput", "\(Int(Double(outbox) / max(elapsed.inSeconds, 0.001)))/s"),
                    ])
                }
            }
        }
    }
}

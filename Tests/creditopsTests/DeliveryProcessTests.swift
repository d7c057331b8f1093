import Foundation
import PostgresNIO
import TestSupport
import Testing

/// A delivery worker SIGKILLed mid-batch and restarted: nothing is lost, and only requests in
/// flight at the kill are repeated, with the same idempotency key.
@Suite struct DeliveryProcessTests {
    static let loans = 300
    static let concurrency = 10

    @Test func aKilledWorkerLosesNothingAndRepeatsOnlyWhatWasInFlight() async throws {
        try await TestDatabase.withDatabase { client, database in
            let base = ["DATABASE_URL": database.url]
            try await OverdueLoans.prepare(count: Self.loans, client: client, environment: base)

            let sink = WebhookSink { _, _ in .init(status: 200, delay: .milliseconds(100)) }
            try await sink.run { url in
                var environment = base
                environment["CREDITOPS_WEBHOOK_URL"] = url
                environment["CREDITOPS_WEBHOOK_SECRET"] = "test-secret"
                let planned = try await CreditOpsProcess.run(["plan", "overdue", "--json"], environment: environment)
                #expect(planned.status == 0, "\(planned.stderr)")
                #expect(planned.stdout.contains(#""created" : \#(Self.loans)"#))

                let arguments = ["worker", "--queues", "reminders", "--concurrency", "\(Self.concurrency)", "--lease-seconds", "2",
                                 "--leader-ttl-seconds", "2", "--log-level", "warning"]
                let first = try CreditOpsProcess.start(arguments, environment: environment)
                defer { first.kill(signal: SIGKILL) }
                #expect(try await eventually(timeout: .seconds(60)) { sink.requests.count >= 60 })
                first.kill(signal: SIGKILL)
                #expect(await first.wait(timeout: .seconds(10)))
                // Requests the killed worker had written may still be read by the sink a moment
                // after the kill; none can be read after the second worker starts.
                let secondStarted = ContinuousClock.now

                let second = try CreditOpsProcess.start(arguments, environment: environment)
                defer { second.kill(signal: SIGKILL) }
                let allSent = try await eventually(timeout: .seconds(90)) {
                    try await client.integer("SELECT count(*) FROM notifications WHERE state = 'sent'") == Self.loans
                }
                #expect(allSent, "\(second.stderr())")
                second.kill(signal: SIGTERM)
                #expect(await second.wait(timeout: .seconds(20)))

                let counts = sink.countsByKey
                let keys = try await client.texts("SELECT idempotency_key FROM notifications")
                #expect(Set(keys) == Set(counts.keys), "every outbox key reached the sink, and nothing else did")
                let repeated = counts.filter { $0.value > 1 }
                print("delivery kill test: \(sink.requests.count) requests for \(keys.count) notifications, \(repeated.count) repeated")
                #expect(repeated.count <= Self.concurrency, "only requests in flight at the kill repeat")
                for key in repeated.keys {
                    let first = sink.requests.first { $0.idempotencyKey == key }!
                    #expect(first.at < secondStarted, "\(key) was repeated but the killed worker never sent it")
                }
                #expect(try await client.integer("SELECT count(*) FROM jobs WHERE state = 'running'") == 0)
            }
        }
    }
}

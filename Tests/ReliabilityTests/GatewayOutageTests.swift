import Foundation
import PostgresNIO
import Synchronization
import Testing
import TestSupport

extension ReliabilityTests {
    /// The SMS gateway goes away for 30 s, then answers 500 for 15 s, then recovers; meanwhile it
    /// refuses some recipients for good with 400.
    @Suite struct GatewayOutage {
        enum Mood: Sendable { case well, failing }

        /// Every 50th loan's recipient is refused, as a gateway refuses a number it cannot serve.
        static func refused(_ key: String) -> Bool {
            guard let loan = OverdueLoans.loanCode(inKey: key), let number = Int(loan.dropFirst()) else { return false }
            return number % 50 == 0
        }

        static let refusal = #"{"error":"số điện thoại không nhận tin nhắn"}"#

        @Test func deliveriesRetryThroughAnOutageAndRefusalsEndFailed() async throws {
            let scale = ReliabilityScale.current
            try await TestDatabase.withDatabase { client, database in
                try await OverdueLoans.prepare(count: scale.gatewayDeliveries, client: client, environment: ["DATABASE_URL": database.url])
                let planned = try await CreditOpsProcess.run(["plan", "overdue"], environment: ["DATABASE_URL": database.url])
                #expect(planned.status == 0, "\(planned.stderr)")
                let outbox = try await client.integer("SELECT count(*) FROM notifications")
                let refusedCount = try await client.texts("SELECT idempotency_key FROM notifications").filter(Self.refused).count
                #expect(refusedCount > 0)

                let mood = Mutex(Mood.well)
                let sink = WebhookSink { key, _ in
                    if Self.refused(key) { return .init(status: 400, body: Self.refusal) }
                    switch mood.withLock({ $0 }) {
                    case .well: return .init(status: 200, delay: .milliseconds(20))
                    case .failing: return .init(status: 500, body: "gateway overloaded")
                    }
                }
                let url = try await sink.start()
                let port = Int(URLComponents(string: url)?.port ?? 0)
                let workers = try DeliveryWorkers(count: 2, concurrency: 10, leaseSeconds: 10, databaseURL: database.url, webhookURL: url,
                                                  extraEnvironment: ["CREDITOPS_WEBHOOK_RETRY_SECONDS": "1"])
                defer { workers.cleanUp() }
                do {
                    #expect(try await eventually(timeout: .seconds(120)) { sink.requestCount >= outbox / 5 })
                    await sink.stop()
                    let downAt = ContinuousClock.now
                    try await Task.sleep(for: .seconds(30))
                    mood.withLock { $0 = .failing }
                    _ = try await sink.start(port: port)
                    let failingFrom = ContinuousClock.now
                    try await Task.sleep(for: .seconds(15))
                    mood.withLock { $0 = .well }
                    let wellFrom = ContinuousClock.now

                    let finished = try await eventually(timeout: .seconds(180)) {
                        try await client.integer("SELECT count(*) FROM notifications WHERE state = 'pending'") == 0
                    }
                    let doneAt = ContinuousClock.now
                    #expect(finished, "not every reminder was settled after the gateway recovered: \(workers.stderr.suffix(2000))")
                    #expect(await workers.terminate() == [0, 0])
                    await sink.stop()

                    let sent = try await client.integer("SELECT count(*) FROM notifications WHERE state = 'sent'")
                    #expect(sent == outbox - refusedCount, "every reminder the gateway did not refuse arrived")
                    let failed = try await client.texts("SELECT idempotency_key || ' ' || last_error FROM notifications WHERE state = 'failed'")
                    #expect(failed.count == refusedCount)
                    for line in failed {
                        #expect(Self.refused(String(line.prefix { $0 != " " })), "failed but never refused: \(line)")
                        #expect(line.contains("400") && line.contains("số điện thoại không nhận tin nhắn"), "the reason is kept: \(line)")
                    }
                    let record = SinkRecord(sink)
                    #expect(record.difference(from: Set(try await client.texts("SELECT idempotency_key FROM notifications"))) == nil)
                    // A refusal is final: nothing is sent for that key after its 400.
                    for (key, received) in record.byKey where Self.refused(key) {
                        #expect(received.last?.status == 400 && received.filter { $0.status == 400 }.count == 1, "\(key) was retried after its 400")
                    }
                    // Backoff, not hammering: waits of 1, 2, 4, 8 s (each 20% shorter at worst) put a
                    // key's attempts at 0, 0.8, 2.4, 5.6 and 12 s at the most, 5 in the 15 s of
                    // 500s; retrying at once would have made hundreds.
                    let failingRequests = record.requests.filter { $0.at >= failingFrom && $0.at < wellFrom }
                    let mostPerKey = Dictionary(grouping: failingRequests, by: \.idempotencyKey).values.map(\.count).max() ?? 0
                    #expect(mostPerKey <= 5, "a key was tried \(mostPerKey) times in 15 s of 500s")
                    #expect(!failingRequests.isEmpty, "the workers came back to the gateway while it failed")
                    let mostAttempts = try await client.integer("SELECT max(attempts) FROM notifications")
                    #expect(mostAttempts >= 3, "deliveries caught by the outage were retried")
                    #expect(record.doublesAfterDeduplication == 0)
                    #expect(try await client.integer("SELECT count(*) FROM jobs WHERE state = 'running'") == 0)
                    let delivered = record.requests.filter { $0.status == 200 }
                    let deliveredTwice = delivered.count - Set(delivered.map(\.idempotencyKey)).count
                    // Only answers lost when the gateway went away (2 workers × 10 in flight) come twice.
                    #expect(deliveredTwice <= 20)

                    ReliabilityReport.record("Gateway down 30 s, then 500 for 15 s", [
                        ("deliveries", "\(outbox)"), ("refused with 400 (ended failed, reason kept)", "\(failed.count)"),
                        ("lost", "\(outbox - sent - failed.count)"), ("requests at the sink", "\(record.requests.count)"),
                        ("answered 500", "\(failingRequests.count)"), ("most attempts of one key in the 15 s of 500s", "\(mostPerKey)"),
                        ("most attempts of one reminder", "\(mostAttempts)"),
                        ("accepted twice (same key)", "\(deliveredTwice)"),
                        ("doubles after de-duplication", "\(record.doublesAfterDeduplication)"),
                        ("all settled after the gateway recovered", (doneAt - wellFrom).shown),
                        ("gateway away", (failingFrom - downAt).shown),
                    ])
                } catch {
                    await sink.stop()
                    throw error
                }
            }
        }
    }
}

import Crypto
import CreditDomain
import CreditWorkers
import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// Deliveries through the webhook channel to a real local HTTP server, run by a real worker.
@Suite struct WebhookDeliveryTests {
    static let secret = "test-secret-not-for-production"

    /// Plans the fixture's overdue reminders (9 notifications) for a fixed morning, one message
    /// each (no digests: these tests are about the transport, row by row).
    static func planOverdue(_ client: PostgresClient) async throws -> Int {
        try await ReminderPlannerTests.importFixture(client)
        try await client.query("UPDATE reminder_settings SET digest_kinds = '{}'", logger: ImportFixtures.logger)
        let report = try await ReminderPlannerTests.planner(client).plan(
            .overdue, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
        return report.created
    }

    /// Runs a worker delivering to `url` until `condition` holds (bounded).
    static func deliver(_ client: PostgresClient, url: String, timeout: Duration = .seconds(2),
                        clock: @escaping @Sendable () -> Date = { ReminderPlannerTests.morning }, within: Duration = .seconds(30),
                        until condition: @escaping @Sendable () async throws -> Bool) async throws -> Bool {
        let channel = WebhookChannel(configuration: WebhookConfiguration(url: url, secret: secret, timeout: timeout))
        let registry = JobRegistry()
        // Within the sending hours whatever the machine's clock says; retries 0.1–0.3 s apart.
        let deliveries = DeliveryJobs(client: client, channel: channel,
                                      retryPolicy: RetryPolicy(base: .milliseconds(100), maximum: .milliseconds(300), jitter: 0),
                                      clock: clock)
        registry.register(deliveries.deliver)
        let worker = WorkerService(
            client: client, registry: registry,
            configuration: .init(queues: [ReminderPlanner.queue: 10], pollInterval: .milliseconds(100),
                                 leaseDuration: .seconds(30), drainTimeout: .seconds(5)),
            logger: silentLogger)
        let maintenance = QueueMaintenanceService(client: client, configuration: .init(promoteInterval: .milliseconds(100)), logger: silentLogger)
        return try await withRunningServices([maintenance, worker]) {
            try await eventually(timeout: within, condition)
        }
    }

    /// The attempts the outbox counted, by idempotency key.
    static func attemptsByKey(_ client: PostgresClient) async throws -> [String: Int] {
        var attempts: [String: Int] = [:]
        let rows = try await client.query("SELECT idempotency_key, attempts FROM notifications", logger: ImportFixtures.logger)
        for try await (key, count) in rows.decode((String, Int).self) { attempts[key] = count }
        return attempts
    }

    static func states(_ client: PostgresClient) async throws -> [String: Int] {
        var states: [String: Int] = [:]
        let rows = try await client.query("SELECT state::text, count(*) FROM notifications GROUP BY 1", logger: ImportFixtures.logger)
        for try await (state, count) in rows.decode((String, Int).self) { states[state] = count }
        return states
    }

    @Test func everyRequestIsSignedAndCarriesItsKeyAndTheBodyNamesTheRecipient() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let planned = try await Self.planOverdue(client)
            let sink = WebhookSink()
            let delivered = try await sink.run { url in
                try await Self.deliver(client, url: url) { try await Self.states(client)["sent"] == planned }
            }
            #expect(delivered)
            // Every notification reached the gateway. A request that timed out on a loaded machine
            // is repeated (at least once, by design), with its key and the same body.
            #expect(sink.countsByKey.count == planned)
            let bodies = Dictionary(grouping: sink.requests, by: \.idempotencyKey).mapValues { Set($0.map(\.body)) }
            #expect(bodies.values.allSatisfy { $0.count == 1 }, "a repeat carried another body")
            let now = Int64(Date().timeIntervalSince1970)
            for request in sink.requests {
                // Checked as a receiver would, by hand: t=UNIX,v1=HMAC-SHA256("{t}.{body}").
                let fields = Dictionary(uniqueKeysWithValues: request.signature.split(separator: ",").map {
                    let pair = $0.split(separator: "=", maxSplits: 1)
                    return (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
                })
                #expect(fields.keys.sorted() == ["t", "v1"], "\(request.signature)")
                let time = Int64(fields["t"] ?? "") ?? 0
                #expect(abs(now - time) < 300, "the signed time is when it was sent")
                let code = HMAC<SHA256>.authenticationCode(
                    for: Data("\(time).".utf8) + request.body, using: SymmetricKey(data: Data(Self.secret.utf8)))
                #expect(fields["v1"] == code.map { String(format: "%02x", $0) }.joined())
                #expect(WebhookSignature.verify(header: request.signature, body: request.body, secret: Self.secret, now: now))
                let body = try JSONSerialization.jsonObject(with: request.body) as? [String: Any]
                #expect(body?["idempotency_key"] as? String == request.idempotencyKey)
                #expect(body?["kind"] as? String == "overdue_followup")
                #expect((body?["recipient_phone"] as? String)?.isEmpty == false)
                #expect((body?["unit_code"] as? String)?.hasPrefix("TQ-YS") == true)
                #expect((body?["text"] as? String)?.contains("quá hạn") == true)
                // The version without diacritics, and the SMS parts of each.
                #expect((body?["text_plain"] as? String)?.contains("qua han") == true)
                let parts = body?["sms_segments"] as? Int ?? 0, plainParts = body?["sms_segments_plain"] as? Int ?? 0
                #expect(plainParts >= 1 && parts > plainParts, "\(parts) parts, \(plainParts) without diacritics")
            }
            // A receiver refuses: another secret, a changed body, an old or a future time, a missing part.
            let first = sink.requests[0]
            #expect(!WebhookSignature.verify(header: first.signature, body: first.body, secret: "another", now: now))
            #expect(!WebhookSignature.verify(header: first.signature, body: first.body + Data(" ".utf8), secret: Self.secret, now: now))
            #expect(!WebhookSignature.verify(header: first.signature, body: first.body, secret: Self.secret, now: now + 3600))
            #expect(!WebhookSignature.verify(header: first.signature, body: first.body, secret: Self.secret, now: now - 3600))
            #expect(!WebhookSignature.verify(header: "v1=" + (first.signature.split(separator: "v1=").last ?? ""), body: first.body,
                                             secret: Self.secret, now: now))
            // A hostile time cannot overflow the check.
            for time in [Int64.min, Int64.max] {
                #expect(!WebhookSignature.verify(header: "t=\(time),v1=00", body: first.body, secret: Self.secret, now: now))
            }
        }
    }

    @Test func aServerErrorThenSuccessDeliversOnceWithTheSameKey() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let planned = try await Self.planOverdue(client)
            let sink = WebhookSink { _, seenBefore in seenBefore == 0 ? .init(status: 500, body: "gateway busy") : .init(status: 200) }
            let delivered = try await sink.run { url in
                try await Self.deliver(client, url: url) { try await Self.states(client)["sent"] == planned }
            }
            #expect(delivered)
            #expect(sink.countsByKey.count == planned)
            // Each key: the 500, then the success (more only where a loaded machine timed a request out).
            #expect(sink.countsByKey.values.allSatisfy { $0 >= 2 })
            let attempts = try await Self.attemptsByKey(client)
            #expect(sink.countsByKey.allSatisfy { key, requests in requests <= (attempts[key] ?? 0) })
            #expect(try await client.integer("SELECT count(*) FROM notifications WHERE last_error IS NULL AND state = 'sent'") == planned)
        }
    }

    @Test func aClientErrorFailsForGoodWithTheReasonKept() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let planned = try await Self.planOverdue(client)
            let sink = WebhookSink { _, _ in .init(status: 400, body: #"{"error":"invalid phone number"}"#) }
            let settled = try await sink.run { url in
                try await Self.deliver(client, url: url) { try await Self.states(client)["failed"] == planned }
            }
            #expect(settled)
            // The 400 ended each delivery (its job is discarded, below): usually one request a key;
            // on a loaded machine a request that timed out before its answer arrived is repeated,
            // each such attempt counted by the outbox, which is not a retry after the 400.
            let attempts = try await Self.attemptsByKey(client)
            #expect(sink.countsByKey.count == planned)
            #expect(sink.countsByKey.allSatisfy { key, requests in requests <= (attempts[key] ?? 0) })
            let rows = try await client.query("SELECT DISTINCT last_error FROM notifications", logger: ImportFixtures.logger)
            for try await error in rows.decode(String.self) {
                #expect(error == #"webhook: HTTP 400: {"error":"invalid phone number"}"#)
            }
            let jobs = try await client.query("SELECT count(*) FROM jobs WHERE kind = 'notifications.deliver' AND state = 'discarded'",
                                              logger: ImportFixtures.logger)
            for try await discarded in jobs.decode(Int.self) { #expect(discarded == planned) }
        }
    }

    @Test func aRedirectIsNeverFollowedAndFailsNamingWhereItPointed() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let planned = try await Self.planOverdue(client)
            // Pointing back at the sink itself: a followed redirect would show as a second request.
            let target = Mutex("")
            let sink = WebhookSink { _, _ in .init(status: 302, location: target.withLock { $0 }) }
            let settled = try await sink.run { url in
                target.withLock { $0 = url + "?followed=1" }
                return try await Self.deliver(client, url: url) { try await Self.states(client)["failed"] == planned }
            }
            #expect(settled)
            #expect(try await Self.states(client)["sent"] == nil)
            #expect(sink.countsByKey.count == planned)
            // Had a redirect been followed, the sink would have seen its target.
            #expect(sink.requests.allSatisfy { !$0.uri.contains("followed") }, "\(sink.requests.map(\.uri).prefix(3))")
            let rows = try await client.query("SELECT DISTINCT last_error FROM notifications", logger: ImportFixtures.logger)
            for try await error in rows.decode(String.self) {
                #expect(error.hasPrefix("webhook: HTTP 302 redirect to http://127.0.0.1:"))
                #expect(error.contains("?followed=1"))
            }
        }
    }

    /// The gateway is down until after the session has begun: the "ngày mai" reminder is not sent
    /// late, it is recorded `expired`, and its job ends without an error.
    @Test func aSessionReminderThatMissedTheSessionExpiresInsteadOfArrivingLate() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            // 29 November: KP-2 meets on 30 November (its day 31, D5) at 07:30, one day ahead: G3's
            // leader, G4's through the commune contact, and the commune contact.
            let planned = try await ReminderPlannerTests.planner(client).plan(
                .sessions, day: CalendarDate(year: 2026, month: 11, day: 29), now: ReminderPlannerTests.morning)
            #expect(planned.created == 3)
            let sessionStart = ReminderExpiry.moment(CalendarDate(year: 2026, month: 11, day: 30), minutes: 7 * 60 + 30)
            #expect(try await client.integer(
                "SELECT count(*) FROM notifications WHERE expires_at = to_timestamp(\(Int(sessionStart)))") == 3)
            // Down (500) on the afternoon before (within the sending hours); the clock then moves
            // past the session's start.
            let now = Mutex(Date(timeIntervalSince1970: ReminderExpiry.moment(CalendarDate(year: 2026, month: 11, day: 29), minutes: 15 * 60)))
            let sink = WebhookSink { _, _ in .init(status: 500, body: "gateway down") }
            let settled = try await sink.run { url in
                try await Self.deliver(client, url: url, clock: { now.withLock { $0 } }) {
                    if sink.requestCount >= 2 { now.withLock { $0 = Date(timeIntervalSince1970: sessionStart + 60) } }
                    return try await Self.states(client)["expired"] == 3
                }
            }
            #expect(settled)
            let requestsAtExpiry = sink.requestCount
            try await Task.sleep(for: .milliseconds(500))
            #expect(sink.requestCount == requestsAtExpiry, "nothing is sent once expired")
            #expect(try await client.integer("""
                SELECT count(*) FROM jobs WHERE kind = 'notifications.deliver' AND state = 'completed'
                """) == 3)
        }
    }

    @Test func plainHTTPGoesOnlyToThisMachine() throws {
        for url in ["http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:9000/hook", "https://gateway.example.vn/hook"] {
            #expect(throws: Never.self, "\(url)") {
                _ = try WebhookConfiguration.fromEnvironment(["CREDITOPS_WEBHOOK_URL": url, "CREDITOPS_WEBHOOK_SECRET": "s"])
            }
        }
        for url in ["http://gateway.example.vn/hook", "http://10.0.0.5/hook", "http://127.0.0.1.example.vn/hook"] {
            let error = #expect(throws: WebhookConfigurationError.self, "\(url)") {
                _ = try WebhookConfiguration.fromEnvironment(["CREDITOPS_WEBHOOK_URL": url, "CREDITOPS_WEBHOOK_SECRET": "s"])
            }
            #expect(error?.description.contains("use https://") == true)
        }
    }

    @Test func aServerThatNeverAnswersTimesOutAndIsRetried() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let planned = try await Self.planOverdue(client)
            // The first request of each key hangs past the 0.5 s time-out; the next is answered.
            let sink = WebhookSink { _, seenBefore in seenBefore == 0 ? .init(status: 200, delay: .seconds(3)) : .init(status: 200) }
            let delivered = try await sink.run { url in
                // Every key waits 3 s once, then is retried: slow on a loaded machine, hence 90 s.
                try await Self.deliver(client, url: url, timeout: .milliseconds(500), within: .seconds(90)) {
                    try await Self.states(client)["sent"] == planned
                }
            }
            #expect(delivered)
            #expect(sink.countsByKey.values.allSatisfy { $0 >= 2 })
            let rows = try await client.query("SELECT min(attempts) FROM notifications", logger: ImportFixtures.logger)
            for try await attempts in rows.decode(Int.self) { #expect(attempts >= 2) }
        }
    }
}

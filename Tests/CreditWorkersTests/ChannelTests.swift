import CreditDomain
import CreditWorkers
import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// Zalo ZNS and a brandname SMS gateway cannot be reached from here: each adapter runs against a
/// local fake (``FakeGateway``) that answers in the service's documented request and answer
/// shapes, error codes included, with a real worker delivering a real plan.
@Suite struct ChannelTests {
    /// What Zalo's servers know: the one valid access token and the one refresh token not yet spent.
    final class ZaloState: Sendable {
        struct State {
            var validAccess: String?
            var unspentRefresh = "R0"
            var refreshes = 0
            /// Phones (84…) that are not Zalo users.
            var notOnZalo: Set<String> = []
            var quotaUsedUp = false
        }

        let state = Mutex(State())

        func answer(_ request: FakeGateway.Received, _: Int) -> FakeGateway.Answer {
            state.withLock { state in
                switch request.path {
                case "/v4/oa/access_token":
                    guard request.headers["secret_key"] == "app-secret", request.form["app_id"] == "1234",
                        request.form["grant_type"] == "refresh_token"
                    else { return .init(status: 400, body: #"{"error":-14002,"error_name":"Invalid app"}"#) }
                    guard request.form["refresh_token"] == state.unspentRefresh else {
                        return .init(body: #"{"error":-14014,"error_name":"Invalid refresh token","error_description":"Refresh token is invalid"}"#)
                    }
                    state.refreshes += 1
                    state.validAccess = "A\(state.refreshes)"
                    state.unspentRefresh = "R\(state.refreshes)"
                    return .init(body: #"{"access_token":"A\#(state.refreshes)","refresh_token":"R\#(state.refreshes)","expires_in":"90000"}"#)
                case "/message/template":
                    guard let access = request.headers["access_token"], access == state.validAccess else {
                        return .init(body: #"{"error":-124,"message":"Access token invalid"}"#)
                    }
                    if state.quotaUsedUp { return .init(body: #"{"error":-144,"message":"OA has exceeded daily quota"}"#) }
                    if state.notOnZalo.contains(request.json["phone"] as? String ?? "") {
                        return .init(body: #"{"error":-118,"message":"Zalo account not existed"}"#)
                    }
                    return .init(body: #"{"error":0,"message":"Success","data":{"msg_id":"m1","sent_time":"1794625200000","quota":{"dailyQuota":"500","remainingQuota":"499"}}}"#)
                default:
                    return .init(status: 404, body: "{}")
                }
            }
        }
    }

    static func zalo(_ baseURL: String, client: PostgresClient, clock: @escaping @Sendable () -> Date) -> ZaloZNSChannel {
        ZaloZNSChannel(
            configuration: ZaloConfiguration(
                appID: "1234", appSecret: "app-secret", initialRefreshToken: "R0", templates: ["session_reminder": "111", "*": "999"],
                apiURL: baseURL, oauthURL: baseURL, timeout: .seconds(5)),
            client: client, logger: ImportFixtures.logger, clock: clock)
    }

    static func sms(_ baseURL: String) -> SMSChannel {
        SMSChannel(configuration: SMSConfiguration(url: baseURL + "/sms", apiKey: "sms-key", brandName: "DOANTN", textForm: .plain))
    }

    /// Runs a worker delivering through `routes` until `condition` holds (bounded, an issue if not).
    static func deliver(_ client: PostgresClient, routes: ChannelRoutes, concurrency: Int = 4,
                        clock: @escaping @Sendable () -> Date = { ReminderPlannerTests.morning },
                        until condition: @escaping @Sendable () async throws -> Bool,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let registry = JobRegistry()
        registry.register(DeliveryJobs(
            client: client, routes: routes, retryPolicy: RetryPolicy(base: .milliseconds(100), maximum: .milliseconds(300), jitter: 0),
            clock: clock).deliver)
        let worker = WorkerService(
            client: client, registry: registry,
            configuration: .init(queues: [ReminderPlanner.queue: concurrency], pollInterval: .milliseconds(100),
                                 leaseDuration: .seconds(30), drainTimeout: .seconds(5)),
            logger: silentLogger)
        let maintenance = QueueMaintenanceService(client: client, configuration: .init(promoteInterval: .milliseconds(100)), logger: silentLogger)
        let reached = try await withRunningServices([maintenance, worker]) {
            try await eventually(timeout: .seconds(30), condition)
        }
        #expect(reached, "the deliveries did not get there within 30 s", sourceLocation: sourceLocation)
    }

    /// 14 November: TB-1's session reminders to G1's leader (+84911111111) and Thái Bình's contact (+84900000001).
    static func planSessions(_ client: PostgresClient) async throws {
        try await ReminderPlannerTests.importFixture(client)
        let report = try await ReminderPlannerTests.planner(client).plan(
            .sessions, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
        #expect(report.created == 2)
    }

    static func sent(_ client: PostgresClient) async throws -> Int {
        try await client.integer("SELECT count(*) FROM notifications WHERE state = 'sent'")
    }

    @Test func znsSendsTemplateMessagesWithARotatingTokenKeptInTheDatabase() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.planSessions(client)
            let zalo = ZaloState()
            let gateway = FakeGateway(answer: zalo.answer)
            try await gateway.run { baseURL in
                let routes = ChannelRoutes(Self.zalo(baseURL, client: client, clock: { ReminderPlannerTests.morning }))
                try await Self.deliver(client, routes: routes) { try await Self.sent(client) == 2 }
                // Zalo revokes the token (as it does when the OA's admin changes): -124, one refresh, sent.
                zalo.state.withLock { $0.validAccess = "revoked" }
                _ = try await ReminderPlannerTests.planner(client).plan(
                    .loanChecks, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
                try await Self.deliver(client, routes: routes) { try await Self.sent(client) == 4 }
            }
            // After the revocation, each delivery in flight with A1 was refused once (-124) and repeated with A2.
            let sends = gateway.requests(to: "/message/template")
            #expect(Set(sends.compactMap { $0.headers["access_token"] }) == ["A1", "A2"])
            #expect(sends.filter { $0.headers["access_token"] == "A2" }.count == 2 && (5...6).contains(sends.count), "\(sends.count)")
            #expect(zalo.state.withLock { $0.refreshes } == 2, "once to start, once after the revocation: never per message")
            // The request as Zalo documents it: 84… phone, the kind's template, the key as tracking_id.
            let first = try #require(sends.first { ($0.json["tracking_id"] as? String) == "session:TB-1:2026-11-17:3d:group:G1" })
            #expect(first.json["phone"] as? String == "84911111111")
            #expect(first.json["template_id"] as? String == "111")
            let data = first.json["template_data"] as? [String: String]
            #expect(data?["recipient_name"] == "Hoàng Văn Em" && data?["date"] == "14/11/2026")
            #expect(data?["content"]?.hasPrefix("Đoàn Thanh niên: Phiên giao dịch") == true)
            let check = sends.first { ($0.json["tracking_id"] as? String)?.hasPrefix("loan_check:") == true }
            #expect(check?.json["template_id"] as? String == "999")
            // Both tokens rotated and kept; each refresh spent the refresh token before it.
            let stored = try await RecipientTests.rows(client, "SELECT access_token, refresh_token FROM zalo_tokens")
            #expect(stored == [["A2", "R2"]])
            #expect(gateway.requests(to: "/v4/oa/access_token").map { $0.form["refresh_token"] ?? "" } == ["R0", "R1"])
            #expect(try await RecipientTests.rows(client, "SELECT DISTINCT channel FROM notifications") == [["zalo-zns"]])
            #expect(try await RecipientTests.rows(client, "SELECT daily::text, remaining::text FROM zalo_quota") == [["500", "499"]])
        }
    }

    @Test func whomZNSCannotReachGetsTheSMSWithoutDiacritics() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.planSessions(client)
            let zalo = ZaloState()
            zalo.state.withLock { $0.notOnZalo = ["84911111111"] }
            // The SMS gateway fails once (500), then takes it: the retry must not ask Zalo again.
            let gateway = FakeGateway { request, earlier in
                request.path == "/sms"
                    ? (earlier == 0 ? .init(status: 500, body: #"{"error":"busy"}"#) : .init(body: #"{"status":"accepted","message_id":"s1"}"#))
                    : zalo.answer(request, earlier)
            }
            try await gateway.run { baseURL in
                let routes = ChannelRoutes(
                    byKind: [:], otherKinds: [Self.zalo(baseURL, client: client, clock: { ReminderPlannerTests.morning }), Self.sms(baseURL)])
                try await Self.deliver(client, routes: routes) { try await Self.sent(client) == 2 }
            }
            #expect(try await RecipientTests.rows(client, """
                SELECT idempotency_key, channel, array_to_string(unreachable_by, ',') FROM notifications ORDER BY 1
                """) == [
                ["session:TB-1:2026-11-17:3d:group:G1", "sms", "zalo-zns"],
                ["session:TB-1:2026-11-17:3d:unit:TQ-YS-TB", "zalo-zns", ""],
            ])
            let toG1 = gateway.requests(to: "/message/template").filter { ($0.json["phone"] as? String) == "84911111111" }
            #expect(toG1.count == 1)
            let sms = gateway.requests(to: "/sms")
            #expect(sms.count == 2 && Set(sms.map { $0.body }).count == 1, "the repeat is the same request")
            let body = try #require(sms.first).json
            #expect(body["phone"] as? String == "84911111111" && body["brandname"] as? String == "DOANTN")
            #expect(body["client_message_id"] as? String == "session:TB-1:2026-11-17:3d:group:G1")
            let plain = try await RecipientTests.rows(client, "SELECT text_plain FROM notifications WHERE idempotency_key LIKE '%group:G1'")
            #expect(body["text"] as? String == plain.first?.first)
            #expect((body["text"] as? String)?.hasPrefix("Doan Thanh nien: Phien giao dich Ngan hang Chinh sach xa hoi") == true)
            #expect(sms.first?.headers["authorization"] == "Bearer sms-key")
        }
    }

    @Test func aUsedUpDailyQuotaWaitsForTheNextDaysSendingWindow() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.planSessions(client)
            let zalo = ZaloState()
            zalo.state.withLock { $0.quotaUsedUp = true }
            let gateway = FakeGateway(answer: zalo.answer)
            try await gateway.run { baseURL in
                let routes = ChannelRoutes(Self.zalo(baseURL, client: client, clock: { ReminderPlannerTests.morning }))
                // One at a time, so that the second comes after Zalo's answer to the first.
                try await Self.deliver(client, routes: routes, concurrency: 1) {
                    try await client.integer("""
                        SELECT count(*) FROM jobs WHERE kind = 'notifications.deliver' AND state = 'retryable' AND attempt = 1
                        """) == 2
                }
            }
            // One request found the quota used up; the other delivery did not ask Zalo at all.
            #expect(gateway.requests(to: "/message/template").count == 1)
            #expect(try await client.integer("SELECT count(*) FROM notifications WHERE state = 'pending' AND last_error LIKE 'zalo-zns:%quota%'") == 2)
            // The clock says 14 November 10:00: both wait for 15 November 07:00 (Vietnam), 21 hours on.
            let waits = try await RecipientTests.rows(client, """
                SELECT round(extract(epoch FROM run_at - now()) / 3600)::text FROM jobs WHERE kind = 'notifications.deliver'
                """)
            #expect(waits == [["21"], ["21"]])
            #expect(try await RecipientTests.rows(client, "SELECT day::text, remaining::text FROM zalo_quota") == [["2026-11-14", "0"]])
        }
    }

    @Test func aSpentRefreshTokenIsRetriedWithAMessageThatSaysWhatToDo() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.planSessions(client)
            try await client.query("INSERT INTO zalo_tokens (refresh_token) VALUES ('spent-elsewhere')", logger: ImportFixtures.logger)
            let gateway = FakeGateway(answer: ZaloState().answer)
            try await gateway.run { baseURL in
                let routes = ChannelRoutes(Self.zalo(baseURL, client: client, clock: { ReminderPlannerTests.morning }))
                try await Self.deliver(client, routes: routes) {
                    try await client.integer("SELECT count(*) FROM notifications WHERE last_error LIKE '%refused the refresh token%'") == 2
                }
            }
            #expect(try await client.integer("SELECT count(*) FROM notifications WHERE state = 'pending'") == 2)
            #expect(try await client.integer("SELECT count(*) FROM notifications WHERE last_error LIKE '%CREDITOPS_ZALO_REFRESH_TOKEN%'") == 2)
            #expect(gateway.requests(to: "/message/template").isEmpty)
        }
    }

    @Test func routesFromTheEnvironment() throws {
        let channels: [String: any NotificationChannel] = ["log": LogChannel(), "sms": Self.sms("http://127.0.0.1:9")]
        let routes = try ChannelRoutes.parse("overdue_followup=sms>log, *=log", channels: channels)
        #expect(routes.route(for: "overdue_followup").map(\.name) == ["sms", "log"])
        #expect(routes.route(for: "session_reminder").map(\.name) == ["log"])
        let failures: [(String, String)] = [
            ("zalo-zns>sms", "'zalo-zns' is not a configured channel; configured: log, sms (zalo-zns needs CREDITOPS_ZALO_APP_ID"),
            ("reminders=sms", "'reminders' is not a notification kind"),
            ("sms>sms", "'sms' appears twice"),
            ("overdue_followup=sms", "no route for session_reminder, session_changed, loan_use_check, report_deadline"),
            ("sms,log", "the other kinds are routed twice"),
        ]
        for (text, message) in failures {
            let error = #expect(throws: ChannelConfigurationError.self) { try ChannelRoutes.parse(text, channels: channels) }
            #expect(error?.description.contains(message) == true, "\(text): \(error?.description ?? "")")
        }
        let base = ["CREDITOPS_SMS_URL": "https://sms.example.vn/send", "CREDITOPS_SMS_API_KEY": "k", "CREDITOPS_SMS_BRANDNAME": "DOANTN"]
        #expect(try SMSConfiguration.fromEnvironment(base)?.textForm == .plain)
        for (change, message) in [
            (["CREDITOPS_SMS_URL": "http://sms.example.vn/send"], "use https://"),
            (["CREDITOPS_SMS_BRANDNAME": "Đoàn Thanh niên"], "CREDITOPS_SMS_BRANDNAME must be"),
            (["CREDITOPS_SMS_TEXT": "utf8"], "CREDITOPS_SMS_TEXT 'utf8' must be plain"),
            (["CREDITOPS_SMS_API_KEY": ""], "CREDITOPS_SMS_API_KEY must be set"),
        ] {
            let error = #expect(throws: ChannelConfigurationError.self) { try SMSConfiguration.fromEnvironment(base.merging(change) { $1 }) }
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        }
        let zalo = ["CREDITOPS_ZALO_APP_ID": "1", "CREDITOPS_ZALO_APP_SECRET": "s", "CREDITOPS_ZALO_REFRESH_TOKEN": "r",
                    "CREDITOPS_ZALO_TEMPLATES": "session_reminder=111,*=999"]
        let configuration = try #require(try ZaloConfiguration.fromEnvironment(zalo))
        #expect(configuration.apiURL == "https://business.openapi.zalo.me" && configuration.templates["*"] == "999")
        let error = #expect(throws: ChannelConfigurationError.self) {
            try ZaloConfiguration.fromEnvironment(zalo.merging(["CREDITOPS_ZALO_TEMPLATES": "sessions=abc"]) { $1 })
        }
        #expect(error?.description.contains("'sessions=abc' is not KIND=TEMPLATE_ID") == true)
    }
}

import CreditDomain
import CreditWorkers
import DashboardAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import JobQueue
import Logging
import PostgresNIO
import Prometheus
import TestSupport
import Testing

/// Every status code of DESIGN.md's HTTP part, against a real database with two districts.
@Suite struct DashboardAPITests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// A province with districts D1 (communes C1, C2) and D2 (commune C3), figures computed, and
    /// tokens: viewers of D1 and D2, an operator of the province (the root), an operator and an
    /// officer of D1, and a viewer of commune C1.
    struct Fixture: Sendable {
        var district: String
        var otherDistrict: String
        var staff: String
        var districtOperator: String
        var officer: String
        var communeViewer: String
    }

    /// `resultLifetime` is zero unless a test is about reuse: most tests write to the database
    /// behind the server's back and look at the next page at once.
    static func withApp(
        security: DashboardServer.Security = .init(), resultLifetime: Duration = .zero, _ body: @Sendable (any TestClientProtocol, Fixture, PostgresClient) async throws -> Void
    ) async throws {
        try await TestDatabase.withDatabase { client, _ in
            let importer = Importer(client: client, logger: logger)
            let asOf = CalendarDate(unixTime: Date().timeIntervalSince1970)
            _ = try await importer.importRecords(.units, [
                ["P", "Tỉnh đoàn P", "province", "", "", ""],
                ["D1", "Huyện đoàn Một", "district", "P", "", ""], ["D2", "Huyện đoàn Hai", "district", "P", "", ""],
                ["C1", "Đoàn xã Một", "commune", "D1", "", ""], ["C2", "Đoàn xã Hai", "commune", "D1", "", ""],
                ["C3", "Đoàn xã Ba", "commune", "D2", "", ""],
            ])
            _ = try await importer.importRecords(.points, [["P1", "C1", "17", "07:30", "Nhà văn hóa thôn 1"], ["P3", "C3", "5", "08:00", ""]])
            _ = try await importer.importRecords(.groups, [["G1", "Tổ thôn 1", "C1", "", "", ""], ["G3", "Tổ thôn 3", "C3", "", "", ""]])
            _ = try await importer.importRecords(.borrowers, (1...6).map { ["B\($0)", "Hộ \($0)", $0 <= 3 ? "G1" : "G3", "", "100000"] })
            _ = try await importer.importRecords(.loans, [
                ["L1", "B1", "Cho vay hộ nghèo", "20000000", "10000000", "2024-01-01", "2028-01-01"],
                ["L2", "B2", "Cho vay hộ nghèo", "20000000", "1000000", "2023-01-01", asOf.adding(days: -10).iso],
            ])
            _ = try await Aggregator(client: client, logger: logger, today: { asOf }).rebuild()
            let tokens = AccessTokens(client: client, logger: logger)
            let fixture = Fixture(
                district: try await tokens.create(unitCode: "D1", role: .viewer, name: "D1").token,
                otherDistrict: try await tokens.create(unitCode: "D2", role: .viewer, name: "D2").token,
                staff: try await tokens.create(unitCode: "P", role: .operator, name: "ops").token,
                districtOperator: try await tokens.create(unitCode: "D1", role: .operator, name: "D1 ops").token,
                officer: try await tokens.create(unitCode: "D1", role: .officer, name: "D1 officer").token,
                communeViewer: try await tokens.create(unitCode: "C1", role: .viewer, name: "C1").token)
            let prometheus = PrometheusCollectorRegistry()
            prometheus.makeCounter(name: "creditops_test_marker_total").increment(by: Int64(7))
            var server = DashboardServer(client: client, registry: JobKinds.registry(client: client, logger: logger),
                                         prometheus: prometheus, logger: logger, security: security)
            server.resultLifetime = resultLifetime
            server.periodicJobs = JobKinds.periodicJobs()
            let app = Application(router: server.router())
            try await app.test(.router) { testClient in
                try await body(testClient, fixture, client)
            }
        }
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func healthAndReadiness() async throws {
        try await Self.withApp { client, _, _ in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ready\n")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                // The registry the server was given, in Prometheus' text format (a running process's
                // own counters are checked by BrowserTests).
                #expect(String(buffer: response.body).contains("creditops_test_marker_total 7"))
            }
        }
    }

    @Test func metricsCanNeedAToken() async throws {
        try await Self.withApp(security: .init(metricsToken: "scrape-secret")) { client, fixture, _ in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            for wrong in ["scrape-secre", "scrape-secrets", fixture.staff] {
                try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer(wrong)) { #expect($0.status == .unauthorized) }
            }
            try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer("scrape-secret")) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("creditops_test_marker_total 7"))
            }
        }
    }

    @Test func tokensAreRequiredAndScopedToTheirSubtree() async throws {
        try await Self.withApp { client, fixture, _ in
            try await client.execute(uri: "/api/v1/units/D1/summary", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/units/D1/summary", method: .get, headers: Self.bearer("co_not-a-token")) {
                #expect($0.status == .unauthorized)
            }
            // A district sees itself and its communes, not the other district or the province.
            for (path, status) in [("D1", HTTPResponse.Status.ok), ("C1", .ok), ("D2", .forbidden), ("C3", .forbidden), ("P", .forbidden),
                                   ("NOPE", .notFound)] {
                try await client.execute(uri: "/api/v1/units/\(path)/coverage", method: .get, headers: Self.bearer(fixture.district)) {
                    #expect($0.status == status, "\(path)")
                }
            }
            try await client.execute(uri: "/api/v1/units/D1/coverage", method: .get, headers: Self.bearer(fixture.otherDistrict)) {
                #expect($0.status == .forbidden)
            }
        }
    }

    @Test func coverageAndSummaryCarryTheFigures() async throws {
        try await Self.withApp { client, fixture, _ in
            let year = CalendarDate(unixTime: Date().timeIntervalSince1970).year
            try await client.execute(uri: "/api/v1/units/D1/coverage?year=\(year)", method: .get, headers: Self.bearer(fixture.district)) { response in
                #expect(response.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(json?["code"] as? String == "D1")
                let coverage = json?["coverage"] as? [String: Any]
                #expect(coverage?["rule"] as? String == "district")
                #expect(coverage?["missing"] as? [String] == ["C1"])
                #expect(coverage?["notApplicable"] as? Int == 1)
                #expect((json?["children"] as? [[String: Any]])?.map { $0["code"] as? String } == ["C1", "C2"])
            }
            try await client.execute(uri: "/api/v1/units/D1/summary", method: .get, headers: Self.bearer(fixture.district)) { response in
                #expect(response.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                let loans = json?["loans"] as? [String: Any]
                #expect(loans?["overdueLoans"] as? Int == 1)
                #expect(loans?["outstanding"] as? Int == 11_000_000)
                #expect((json?["nextSessions"] as? [[String: Any]])?.first?["point"] as? String == "P1")
                #expect((json?["openReports"] as? [Any])?.isEmpty == true)
            }
            for bad in ["26", "abcd", "2026-01", "99999"] {
                try await client.execute(uri: "/api/v1/units/D1/coverage?year=\(bad)", method: .get, headers: Self.bearer(fixture.district)) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect(String(buffer: response.body).contains("year"))
                }
            }
        }
    }

    @Test func jobsAreForStaffTokens() async throws {
        try await Self.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobKinds.registry(client: database, logger: Self.logger), logger: Self.logger)
            let id = try await queue.enqueue(NewJob(kind: "noop", runAt: Date().addingTimeInterval(3600)))
            try await client.execute(uri: "/api/v1/jobs", method: .get, headers: Self.bearer(fixture.district)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/v1/jobs?state=scheduled&kind=noop", method: .get, headers: Self.bearer(fixture.staff)) { response in
                #expect(response.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect((json?["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [Int(id)])
            }
            try await client.execute(uri: "/api/v1/jobs?state=lost", method: .get, headers: Self.bearer(fixture.staff)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("state"))
            }
            try await client.execute(uri: "/api/v1/jobs?limit=0", method: .get, headers: Self.bearer(fixture.staff)) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/v1/jobs/abc", method: .get, headers: Self.bearer(fixture.staff)) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/v1/jobs/999999", method: .get, headers: Self.bearer(fixture.staff)) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/jobs/\(id)/cancel", method: .post, headers: Self.bearer(fixture.staff)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""state":"cancelled""#))
            }
            try await client.execute(uri: "/api/v1/jobs/\(id)/retry", method: .post, headers: Self.bearer(fixture.staff)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""state":"available""#))
            }
        }
    }

    @Test func theDashboardTradesTheTokenForASessionCookie() async throws {
        try await Self.withApp { client, fixture, _ in
            var cookie = ""
            try await client.execute(uri: "/dashboard/D1?token=\(fixture.district)", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/dashboard/D1")
                let setCookie = response.headers[.setCookie] ?? ""
                let attributes = Set(setCookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
                #expect(attributes.contains("httponly"))
                // Lax: a link clicked in webmail or Zalo carries it; another site's POST does not.
                #expect(attributes.contains("samesite=lax"))
                #expect(!attributes.contains("secure"), "plain http: a Secure cookie would never come back")
                cookie = String(setCookie.split(separator: ";")[0])
                // The cookie holds a session id, never the token.
                #expect(cookie.hasPrefix("creditops_session="))
                #expect(!cookie.contains(fixture.district))
            }
            try await client.execute(uri: "/dashboard/D1", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(html.contains("Huyện đoàn Một"))
                #expect(html.contains("Kiểm tra, giám sát của đơn vị năm"))
                #expect(html.contains("Tỷ lệ nợ quá hạn"))
                #expect(html.contains("<svg"))
                #expect(!html.contains("<script"))
                #expect(!html.contains(fixture.district))
            }
            try await client.execute(uri: "/dashboard/D2", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/dashboard/D1?token=co_wrong", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("Mã truy cập"))
            }
        }
    }

    @Test func cookiesAreSecureBehindHTTPS() async throws {
        try await Self.withApp(security: .init(secureCookies: true)) { client, fixture, _ in
            try await client.execute(uri: "/dashboard/D1?token=\(fixture.district)", method: .get) { response in
                let attributes = (response.headers[.setCookie] ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                #expect(attributes.contains("secure"))
                #expect(attributes.contains("httponly"))
                #expect(attributes.contains("samesite=lax"))
            }
        }
    }
}

/// The operations page: staff only, and its buttons are forms protected against forgery.
@Suite struct OpsPageTests {
    @Test func aDiscardedJobIsRetriedByItsButton() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobKinds.registry(client: database, logger: DashboardAPITests.logger),
                                 logger: DashboardAPITests.logger)
            let id = try await queue.enqueue(NewJob(kind: "noop", runAt: Date().addingTimeInterval(3600)))
            try await database.query("UPDATE jobs SET state = 'discarded', finalized_at = now(), errors = '[{\"attempt\":1,\"at\":\"2026-11-27T00:00:00Z\",\"error\":\"gateway said no\"}]' WHERE id = \(id)",
                                     logger: DashboardAPITests.logger)
            try await client.execute(uri: "/ops", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/ops?state=discarded", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(html.contains("Hàng đợi"))
                #expect(html.contains("href=\"/ops/jobs/\(id)\""))
                #expect(html.contains("gateway said no"))
            }
            try await client.execute(uri: "/ops/jobs/\(id)", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                #expect(String(buffer: response.body).contains("Chạy lại"))
            }
            // A browser session: its forms must carry the session's CSRF value.
            var cookie = ""
            try await client.execute(uri: "/ops?token=\(fixture.staff)", method: .get) { response in
                cookie = String((response.headers[.setCookie] ?? "").split(separator: ";")[0])
            }
            let session: HTTPFields = [.cookie: cookie]
            let sessionID = String(cookie.split(separator: "=", maxSplits: 1).last ?? "")
            try await client.execute(uri: "/ops", method: .get, headers: session) { response in
                #expect(String(buffer: response.body).contains(WebSessions.csrfToken(forSession: sessionID)))
            }
            // Without the page's CSRF value, nothing happens.
            try await client.execute(uri: "/ops/jobs/\(id)/retry", method: .post,
                                     headers: session.merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: "csrf=forged")) { #expect($0.status == .forbidden) }
            #expect(try await queue.job(id: id).state == .discarded)
            let csrf = WebSessions.csrfToken(forSession: sessionID)
            try await client.execute(uri: "/ops/jobs/\(id)/retry", method: .post,
                                     headers: session.merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: "csrf=\(csrf)")) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/ops/jobs/\(id)")
            }
            #expect(try await queue.job(id: id).state == .available)
            // Pausing asks first (a page with a second form); only the confirmed form pauses.
            try await client.execute(uri: "/ops/queues/default/pause", method: .post,
                                     headers: session.merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: "csrf=\(csrf)")) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(html.contains("Tạm dừng hàng đợi default?") && html.contains(#"<input type="hidden" name="confirm" value="yes">"#))
            }
            #expect(try await queue.stats().first { $0.queue == "default" }?.paused != true)
            try await client.execute(uri: "/ops/queues/default/pause", method: .post,
                                     headers: session.merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: "csrf=\(csrf)&confirm=yes")) { #expect($0.status == .seeOther) }
            #expect(try await queue.stats().first { $0.queue == "default" }?.paused == true)
            try await client.execute(uri: "/ops/jobs", method: .post,
                                     headers: session.merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: "csrf=\(csrf)&kind=sleep&args=%7B%22milliseconds%22%3A+5%7D&queue=")) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location]?.hasPrefix("/ops/jobs/") == true)
            }
            try await client.execute(uri: "/ops/jobs", method: .post,
                                     headers: session.merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: "csrf=\(csrf)&kind=sleep&args=%7B%7D")) { response in
                // Refused: back to /ops, where the reason is shown, never a JSON page.
                #expect(response.status == .seeOther)
                let location = response.headers[.location] ?? ""
                #expect(location.hasPrefix("/ops?message=") && (location.removingPercentEncoding ?? "").contains("milliseconds"), "\(location)")
            }
            try await client.execute(uri: "/ops?message=sleep%3A%20milliseconds%20is%20required", method: .get, headers: session) { response in
                #expect(String(buffer: response.body).contains(#"<p class="error" role="alert">sleep: milliseconds is required</p>"#))
            }
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        merged.append(contentsOf: other)
        return merged
    }
}

/// Hostile values in every parameter: a 4xx with a reason, never a 5xx, and nothing changed.
@Suite struct HostileParameterTests {
    static let values = ["", "%27%3B%20DROP%20TABLE%20units%3B%20--", String(repeating: "9", count: 5_000), "%C3%28", "2026-02-30",
                         "-1", "99999999999999999999", "%00", "null", "%7B%7D"]

    @Test func everyParameterRefusesHostileValues() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let before = try await Self.snapshot(database)
            var paths: [String] = []
            for value in Self.values {
                paths += [
                    "/api/v1/units/D1/coverage?year=\(value)", "/api/v1/units/\(value)/coverage", "/api/v1/units/\(value)/summary",
                    "/api/v1/jobs?state=\(value)", "/api/v1/jobs?limit=\(value)", "/api/v1/jobs?before=\(value)",
                    // Each alone, so that every value reaches the query (a bad limit would refuse it first).
                    "/api/v1/jobs?queue=\(value)", "/api/v1/jobs?kind=\(value)", "/api/v1/jobs?queue=\(value)&kind=\(value)",
                    "/api/v1/jobs/\(value)", "/dashboard/\(value)", "/dashboard/D1?year=\(value)", "/ops/jobs/\(value)",
                    "/login/\(value)", "/login?next=\(value)", "/ops?state=\(value)&queue=\(value)",
                ]
            }
            var failures: [String] = []
            for path in paths {
                try await client.execute(uri: path, method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                    let code = Int(response.status.code)
                    if code >= 500 { failures.append("\(path.prefix(80)): \(code)") }
                    if code >= 400 && response.body.readableBytes == 0 { failures.append("\(path.prefix(80)): \(code) without a reason") }
                }
            }
            for value in Self.values {
                for path in ["/api/v1/jobs/\(value)/retry", "/api/v1/jobs/\(value)/cancel"] {
                    try await client.execute(uri: path, method: .post, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                        if response.status.code < 400 || response.status.code >= 500 { failures.append("POST \(path.prefix(80)): \(response.status.code)") }
                    }
                }
                for path in ["/api/v1/queues/\(value)/pause", "/api/v1/queues/\(value)/resume", "/api/v1/jobs/1/\(value)"] {
                    try await client.execute(uri: path, method: .post, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                        if response.status.code < 400 || response.status.code >= 500 { failures.append("POST \(path.prefix(80)): \(response.status.code)") }
                    }
                }
                // "noop" with no queue goes to its default queue: no attack, so not among these.
                let forms = ["kind=\(value)&args=%7B%7D", "kind=sleep&args=\(value)", "kind=noop&queue=\(value)"].filter { $0 != "kind=noop&queue=" }
                for form in forms {
                    try await client.execute(uri: "/ops/jobs", method: .post,
                                             headers: DashboardAPITests.bearer(fixture.staff).merging([.contentType: "application/x-www-form-urlencoded"]),
                                             body: ByteBuffer(string: form)) { response in
                        // Refused forms go back to /ops with the reason (issue 20), never a server error; a body
                        // that is not even a form (invalid UTF-8) is a 400 that says so.
                        let location = response.headers[.location] ?? ""
                        let undecodable = response.status == .badRequest && response.body.readableBytes > 0
                        if !undecodable && (response.status != .seeOther || !location.hasPrefix("/ops?message=") || location.count <= 13) {
                            failures.append("POST /ops/jobs \(form.prefix(60)): \(response.status.code) \(location.prefix(80))")
                        }
                    }
                }
                let decoded = value.removingPercentEncoding ?? value
                let bodies = [#"{"kind":"\#(decoded)"}"#, #"{"kind":"sleep","args":\#(decoded)}"#, #"{"kind":"noop","queue":"\#(decoded)"}"#,
                              #"{"kind":"noop","priority":"\#(decoded)"}"#, #"{"kind":"noop","run_at":"\#(decoded)"}"#,
                              #"{"kind":"noop","unique_key":\#(decoded)}"#, decoded, #"{"kind":"noop","\#(decoded)":1}"#]
                for body in bodies {
                    try await client.execute(uri: "/api/v1/jobs", method: .post,
                                             headers: DashboardAPITests.bearer(fixture.staff).merging([.contentType: "application/json"]),
                                             body: ByteBuffer(string: body)) { response in
                        if response.status.code < 400 || response.status.code >= 500 || response.body.readableBytes == 0 {
                            failures.append("POST /api/v1/jobs \(body.prefix(60)): \(response.status.code)")
                        }
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            let after = try await Self.snapshot(database)
            #expect(after.filter { !$0.hasPrefix("jobs") } == before.filter { !$0.hasPrefix("jobs") })
            print("hostile HTTP requests tried: \(paths.count + Self.values.count * 14)")
        }
    }

    static func snapshot(_ client: PostgresClient) async throws -> [String] {
        var rows: [String] = []
        // `last_used_at` changes with every use, by design; everything else of a token must not.
        let tables = ["units", "points", "groups", "borrowers", "loans", "job_queues", "sign_in_links", "web_sessions",
                      "(SELECT id, token_hash, name, unit_id, role, created_at, expires_at, revoked_at FROM api_tokens)"]
        for table in tables {
            let sql = "SELECT \(rows.count) || ': ' || coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM \(table) t"
            for try await text in try await client.query(PostgresQuery(unsafeSQL: sql), logger: DashboardAPITests.logger).decode(String.self) {
                rows.append(text)
            }
        }
        return rows
    }
}

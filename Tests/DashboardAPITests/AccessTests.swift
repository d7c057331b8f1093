import CreditWorkers
import DashboardAPI
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobQueue
import PostgresNIO
import Testing

/// Who may do what (README "Security"): every cell of the role table, the CSRF rule of cookie
/// sessions, the headers, the brute-force limit and the audit trail.
@Suite struct AccessTests {
    enum Who: String, CaseIterable, Sendable {
        case nobody, communeViewer, districtViewer, districtOfficer, districtOperator, rootOperator

        func headers(_ fixture: DashboardAPITests.Fixture) -> HTTPFields {
            switch self {
            case .nobody: [:]
            case .communeViewer: DashboardAPITests.bearer(fixture.communeViewer)
            case .districtViewer: DashboardAPITests.bearer(fixture.district)
            case .districtOfficer: DashboardAPITests.bearer(fixture.officer)
            case .districtOperator: DashboardAPITests.bearer(fixture.districtOperator)
            case .rootOperator: DashboardAPITests.bearer(fixture.staff)
            }
        }
    }

    /// One row of README's table: a request and the status each principal gets. Jobs named by
    /// `{C1}`, `{C3}` and `{none}` are made fresh for each request: one of commune C1 (inside D1),
    /// one of C3 (inside D2), one of no unit.
    struct Row: Sendable, CustomStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var body: String?
        var expected: [Who: Int]
        var description: String { "\(method) \(path)" }
    }

    static let rows: [Row] = [
        Row(method: .get, path: "/api/v1/units/C1/summary", expected: [
            .nobody: 401, .communeViewer: 200, .districtViewer: 200, .districtOfficer: 200, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .get, path: "/api/v1/units/D1/coverage", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 200, .districtOfficer: 200, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .get, path: "/api/v1/units/P/summary", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .get, path: "/dashboard/D1", expected: [
            .nobody: 303, .communeViewer: 403, .districtViewer: 200, .districtOfficer: 200, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .get, path: "/api/v1/jobs", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .get, path: "/api/v1/jobs/{C1}", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .get, path: "/api/v1/jobs/{C3}", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .get, path: "/api/v1/jobs/{none}", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .post, path: "/api/v1/jobs/{C1}/cancel", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .post, path: "/api/v1/jobs/{C3}/cancel", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .post, path: "/api/v1/jobs/{C1}/retry", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .post, path: "/api/v1/jobs/{none}/retry", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .post, path: "/api/v1/jobs", body: #"{"kind":"noop","args":{}}"#, expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 201]),
        Row(method: .get, path: "/api/v1/queues", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .post, path: "/api/v1/queues/reminders/pause", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .post, path: "/api/v1/queues/reminders/resume", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        Row(method: .get, path: "/ops", expected: [
            .nobody: 303, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .get, path: "/ops/jobs/{C1}", expected: [
            .nobody: 303, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 200, .rootOperator: 200]),
        Row(method: .get, path: "/ops/jobs/{C3}", expected: [
            .nobody: 303, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 200]),
        // An operator's refused /ops action goes back to the page with its reason (303, `message`).
        Row(method: .post, path: "/ops/jobs/{C1}/cancel", body: "confirm=yes", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 303, .rootOperator: 303]),
        Row(method: .post, path: "/ops/queues/reminders/pause", body: "confirm=yes", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 303, .rootOperator: 303]),
        Row(method: .post, path: "/ops/jobs", body: "kind=noop", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 303, .rootOperator: 303]),
        Row(method: .get, path: "/dashboard/C1/loan/L2/check", expected: [
            .nobody: 303, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 200, .districtOperator: 403, .rootOperator: 403]),
        Row(method: .post, path: "/dashboard/C1/loan/L2/check", body: "on=", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 303, .districtOperator: 403, .rootOperator: 403]),
        Row(method: .post, path: "/dashboard/C3/loan/L2/check", body: "on=", expected: [
            .nobody: 401, .communeViewer: 403, .districtViewer: 403, .districtOfficer: 403, .districtOperator: 403, .rootOperator: 403]),
    ]

    static func freshJob(_ database: PostgresClient, unit: String?) async throws -> Int64 {
        let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
        return try await queue.enqueue(NewJob(kind: "noop", queue: "reminders", runAt: Date().addingTimeInterval(3600),
                                              meta: unit.map { ["unit": $0] } ?? [:]))
    }

    @Test func everyRoleGetsWhatTheTableSays() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            var mismatches: [String] = []
            var cells = 0
            for row in Self.rows {
                for who in Who.allCases {
                    var path = row.path
                    for (placeholder, unit) in [("{C1}", "C1"), ("{C3}", "C3"), ("{none}", nil)] where path.contains(placeholder) {
                        // Retry needs a job that may run again: a cancelled one.
                        let id = try await Self.freshJob(database, unit: unit)
                        if path.hasSuffix("/retry") { _ = try await JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger).cancel(jobID: id) }
                        path = path.replacingOccurrences(of: placeholder, with: "\(id)")
                    }
                    var headers = who.headers(fixture)
                    if let body = row.body {
                        headers[.contentType] = body.hasPrefix("{") ? "application/json" : "application/x-www-form-urlencoded"
                    }
                    let expected = row.expected[who]!
                    try await client.execute(uri: path, method: row.method, headers: headers, body: row.body.map { ByteBuffer(string: $0) }) { response in
                        cells += 1
                        if Int(response.status.code) != expected {
                            mismatches.append("\(row) as \(who): \(response.status.code), expected \(expected): \(String(buffer: response.body).prefix(200))")
                        }
                        // A refusal says what is needed.
                        if response.status == .forbidden {
                            let text = String(buffer: response.body)
                            if !(text.contains("role") || text.contains("unit") || text.contains("outside")) {
                                mismatches.append("\(row) as \(who): a 403 that names neither role nor unit: \(text)")
                            }
                        }
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
            #expect(cells == Self.rows.count * Who.allCases.count)
        }
    }

    @Test func aDistrictOperatorListsOnlyItsSubtreesJobs() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let inside = try await Self.freshJob(database, unit: "C1")
            let district = try await Self.freshJob(database, unit: "D1")
            let outside = try await Self.freshJob(database, unit: "C3")
            let unowned = try await Self.freshJob(database, unit: nil)
            func listed(_ token: String) async throws -> Set<Int> {
                var ids = Set<Int>()
                try await client.execute(uri: "/api/v1/jobs?limit=500", method: .get, headers: DashboardAPITests.bearer(token)) { response in
                    let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    ids = Set((json?["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? [])
                }
                return ids
            }
            let seenByDistrict = try await listed(fixture.districtOperator)
            #expect(seenByDistrict.contains(Int(inside)) && seenByDistrict.contains(Int(district)))
            #expect(!seenByDistrict.contains(Int(outside)) && !seenByDistrict.contains(Int(unowned)))
            let seenByRoot = try await listed(fixture.staff)
            #expect(seenByRoot.isSuperset(of: [Int(inside), Int(district), Int(outside), Int(unowned)]))
            // The operations page lists the same and hides the queue-wide forms.
            try await client.execute(uri: "/ops", method: .get, headers: DashboardAPITests.bearer(fixture.districtOperator)) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("/ops/jobs/\(inside)\""))
                #expect(!html.contains("/ops/jobs/\(outside)\""))
                #expect(!html.contains("Tạm dừng") && !html.contains("Thêm vào hàng đợi"))
            }
        }
    }

    /// A browser session's state changes must carry its CSRF value; a bearer request needs none.
    @Test func cookieAuthenticatedJSONWritesNeedTheCSRFValue() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            var cookie = ""
            try await client.execute(uri: "/ops?token=\(fixture.staff)", method: .get) { response in
                cookie = String((response.headers[.setCookie] ?? "").split(separator: ";")[0])
            }
            let sessionID = String(cookie.split(separator: "=", maxSplits: 1).last ?? "")
            let csrf = WebSessions.csrfToken(forSession: sessionID)
            let writes: [(String, String?)] = [
                ("/api/v1/jobs/{job}/cancel", nil), ("/api/v1/queues/reminders/pause", nil), ("/api/v1/queues/reminders/resume", nil),
                ("/api/v1/jobs", #"{"kind":"noop"}"#), ("/logout", ""),
            ]
            for (template, body) in writes {
                let path = template.replacingOccurrences(of: "{job}", with: "\(try await Self.freshJob(database, unit: "C1"))")
                // The last forgery differs from the real value in its last character only (never equal to it).
                for forged in [nil, "forged", String(csrf.dropLast()) + (csrf.last == "0" ? "1" : "0")] {
                    var headers: HTTPFields = [.cookie: cookie]
                    if let forged { headers[HTTPField.Name("X-CSRF-Token")!] = forged }
                    if body != nil { headers[.contentType] = template == "/logout" ? "application/x-www-form-urlencoded" : "application/json" }
                    try await client.execute(uri: path, method: .post, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                        #expect(response.status == .forbidden, "\(path) with CSRF \(forged ?? "none")")
                        #expect(String(buffer: response.body).contains("CSRF"))
                    }
                }
                if template == "/logout" { continue }
                var headers: HTTPFields = [.cookie: cookie, HTTPField.Name("X-CSRF-Token")!: csrf]
                if body != nil { headers[.contentType] = "application/json" }
                try await client.execute(uri: path, method: .post, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                    #expect([200, 201].contains(Int(response.status.code)), "\(path): \(response.status)")
                }
            }
            // The same writes with a bearer token need no CSRF value.
            let id = try await Self.freshJob(database, unit: "C1")
            try await client.execute(uri: "/api/v1/jobs/\(id)/cancel", method: .post, headers: DashboardAPITests.bearer(fixture.staff)) {
                #expect($0.status == .ok)
            }
            // Sign-out ends the session at once.
            try await client.execute(uri: "/logout", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "csrf=\(csrf)")) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/api/v1/jobs", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .unauthorized) }
            // A page with the ended session's cookie goes back to the sign-in form and drops the cookie.
            try await client.execute(uri: "/ops", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/login?next=%2Fops")
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
        }
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let requests: [(String, HTTPFields, Bool)] = [
                ("/dashboard/D1", DashboardAPITests.bearer(fixture.district), true), ("/api/v1/units/D1/summary", DashboardAPITests.bearer(fixture.district), true),
                ("/api/v1/units/P/summary", DashboardAPITests.bearer(fixture.district), true), ("/api/v1/jobs", [:], true),
                ("/login", [:], true), ("/no-such-page", [:], true), ("/ops", DashboardAPITests.bearer(fixture.staff), true),
                ("/healthz", [:], false), ("/readyz", [:], false),
            ]
            for (path, headers, isPrivate) in requests {
                try await client.execute(uri: path, method: .get, headers: headers) { response in
                    let csp = response.headers[.contentSecurityPolicy] ?? ""
                    #expect(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && csp.contains("default-src 'self'"), "\(path)")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                    #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(path)")
                    #expect((response.headers[.cacheControl] == "no-store") == isPrivate, "\(path): \(response.headers[.cacheControl] ?? "none")")
                }
            }
        }
    }

    @Test func thirtyBadTokensThenTooManyRequests() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            for attempt in 1...30 {
                try await client.execute(uri: "/api/v1/units/D1/summary", method: .get, headers: DashboardAPITests.bearer("co_guess\(attempt)")) {
                    #expect($0.status == .unauthorized, "attempt \(attempt)")
                }
            }
            for path in ["/api/v1/units/D1/summary", "/login/somecode"] {
                try await client.execute(uri: path, method: .get, headers: DashboardAPITests.bearer("co_guess31")) { response in
                    #expect(response.status == .tooManyRequests, "\(path)")
                    let retryAfter = Int(response.headers[.retryAfter] ?? "") ?? 0
                    #expect((1...60).contains(retryAfter), "Retry-After \(retryAfter)")
                }
            }
            // Even a right token waits: the limit is per address, checked before any look-up.
            try await client.execute(uri: "/api/v1/units/D1/summary", method: .get, headers: DashboardAPITests.bearer(fixture.district)) {
                #expect($0.status == .tooManyRequests)
            }
        }
    }

    @Test func signInLinksWorkOnceAndSayWhyNot() async throws {
        try await DashboardAPITests.withApp { client, _, database in
            let sessions = WebSessions(client: database, logger: DashboardAPITests.logger)
            let link = try await sessions.createLink(unitCode: "D1", role: .viewer, name: "link test")
            var cookie = ""
            try await client.execute(uri: "/login/\(link.code)", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/dashboard/D1")
                cookie = String((response.headers[.setCookie] ?? "").split(separator: ";")[0])
            }
            try await client.execute(uri: "/dashboard/D1", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/login/\(link.code)", method: .get) { response in
                #expect(response.status == .gone)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(String(buffer: response.body).contains("đã được dùng"))
            }
            let stale = try await sessions.createLink(unitCode: "D1", role: .viewer, name: "stale")
            try await database.query("UPDATE sign_in_links SET expires_at = now() - interval '1 second' WHERE token_id = \(stale.tokenID)",
                                     logger: DashboardAPITests.logger)
            try await client.execute(uri: "/login/\(stale.code)", method: .get) { response in
                #expect(response.status == .gone)
                #expect(String(buffer: response.body).contains("đã hết hạn"))
            }
            try await client.execute(uri: "/login/not-a-code", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("không hợp lệ"))
            }
            // A page without a session goes to the sign-in form, which takes a pasted token.
            try await client.execute(uri: "/dashboard/D1?year=2026", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/login?next=%2Fdashboard%2FD1%3Fyear%3D2026")
            }
        }
    }

    @Test func aPastedTokenSignsInAndNextStaysOnThisSite() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/login", method: .post, headers: form,
                                     body: ByteBuffer(string: "token=\(fixture.district)&next=%2Fdashboard%2FC1")) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/dashboard/C1")
                #expect(response.headers[.setCookie]?.hasPrefix("creditops_session=") == true)
            }
            // A tab is dropped by browsers: "/\t/evil.example" would become "//evil.example".
            for next in ["https%3A%2F%2Fevil.example", "%2F%2Fevil.example", "%2F%5Cevil.example", "%2F%09%2Fevil.example",
                         "%2F%0A%2Fevil.example", "%2F%20%2Fevil.example"] {
                try await client.execute(uri: "/login", method: .post, headers: form,
                                         body: ByteBuffer(string: "token=\(fixture.district)&next=\(next)")) { response in
                    #expect(response.headers[.location] == "/dashboard/D1", "next=\(next)")
                }
            }
            try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "token=co_wrong")) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("Mã truy cập không đúng"))
            }
            // A sign-in form posted from another site is refused.
            try await client.execute(uri: "/login", method: .post, headers: form.merging([HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]),
                                     body: ByteBuffer(string: "token=\(fixture.district)")) { #expect($0.status == .forbidden) }
        }
    }

    @Test func everyWriteLeavesAnAuditRow() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let id = try await Self.freshJob(database, unit: "C1")
            let operatorHeaders = DashboardAPITests.bearer(fixture.staff)
            try await client.execute(uri: "/api/v1/jobs/\(id)/cancel", method: .post, headers: operatorHeaders) { _ in }
            try await client.execute(uri: "/api/v1/jobs/\(id)/retry", method: .post, headers: operatorHeaders) { _ in }
            try await client.execute(uri: "/api/v1/queues/reminders/pause", method: .post, headers: operatorHeaders) { _ in }
            try await client.execute(uri: "/api/v1/queues/reminders/resume", method: .post, headers: operatorHeaders) { _ in }
            try await client.execute(uri: "/api/v1/jobs", method: .post, headers: operatorHeaders.merging([.contentType: "application/json"]),
                                     body: ByteBuffer(string: #"{"kind":"noop"}"#)) { _ in }
            try await client.execute(uri: "/api/v1/queues/reminders/pause", method: .post, headers: DashboardAPITests.bearer(fixture.districtOperator)) { _ in }
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "token=\(fixture.district)")) { _ in }
            let events = try await AuditLog(client: database, logger: DashboardAPITests.logger).list()
            let lines = events.reversed().map { "\($0.tokenName)|\($0.role)|\($0.action)|\($0.target)|\($0.outcome.prefix(12))" }
            #expect(lines == [
                "ops|operator|job.cancel|job \(id)|ok", "ops|operator|job.retry|job \(id)|ok", "ops|operator|queue.pause|queue reminders|ok",
                "ops|operator|queue.resume|queue reminders|ok", "ops|operator|job.enqueue||ok",
                "D1 ops|operator|queue.pause|queue reminders|refused 403:", "D1|viewer|sign-in|token|ok",
            ], "\(lines.joined(separator: "\n"))")
            #expect(events.allSatisfy { $0.address == "unknown" && $0.tokenID != nil })
        }
    }
}

import CreditDomain
import CreditWorkers
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// The staff writes from the dashboard as an officer makes them: a form, a refused form that
/// says in Vietnamese what is wrong next to the field, a saved one visible at once, and refusals
/// for readers, for units outside the token and for forged requests.
@Suite struct RecordFormTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func post(_ client: any TestClientProtocol, _ path: String, _ token: String, _ body: String) async throws -> (HTTPResponse.Status, String, String) {
        var headers = DashboardAPITests.bearer(token)
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            (response.status, response.headers[.location] ?? "", String(buffer: response.body))
        }
    }

    static func value(_ database: PostgresClient, _ sql: PostgresQuery) async throws -> String? {
        for try await value in try await database.query(sql, logger: DashboardAPITests.logger).decode(String?.self) { return value }
        return nil
    }

    static func summary(_ client: any TestClientProtocol, _ unit: String, _ token: String) async throws -> [String: Any] {
        try await client.execute(uri: "/api/v1/units/\(unit)/summary", method: .get, headers: DashboardAPITests.bearer(token)) { response in
            (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]) ?? [:]
        }
    }

    @Test func anOfficerRecordsAFollowUpsOutcomeAndSeesItAtOnce() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let followup = try await Self.value(database, """
                INSERT INTO followups (loan_id, due_on, overdue_days, planned_on)
                SELECT id, due_on, 7, due_on + 7 FROM loans WHERE code = 'L2' RETURNING id::text
                """)!
            #expect(try await Self.summary(client, "C1", fixture.officer)["openFollowups"] as? Int == 1)
            var page = try await DashboardNavigationTests.page(client, "/dashboard/C1", fixture.officer)
            #expect(page.contains(#"<a href="/dashboard/C1/followup/\#(followup)" aria-label="Ghi kết quả: L2">Ghi kết quả</a>"#))
            let form = try await DashboardNavigationTests.page(client, "/dashboard/C1/followup/\(followup)", fixture.officer)
            #expect(form.contains("<h1>Ghi kết quả đôn đốc nợ quá hạn</h1>"))
            #expect(form.contains(#"<label for="f-outcome">Kết quả</label>"#))
            #expect(form.contains("<dd>Hộ 2</dd>"))

            // A wrong date and a promise without one: 422, the message by the field, nothing written.
            let path = "/dashboard/C1/followup/\(followup)"
            var (status, _, body) = try await Self.post(client, path, fixture.officer, "outcome=promised&promised_on=20%2F12%2F2026&note=h%E1%BA%B9n")
            #expect(status == .unprocessableContent)
            #expect(body.contains(#"<p class="error" id="f-promised_on-error">Ngày chưa đúng: hãy nhập theo dạng năm-tháng-ngày, ví dụ 2026-12-05.</p>"#))
            #expect(body.contains(#"aria-invalid="true""#))
            #expect(body.contains(#"value="20/12/2026""#), "what was typed comes back")
            (status, _, body) = try await Self.post(client, path, fixture.officer, "outcome=paid&promised_on=2026-12-20")
            #expect(status == .unprocessableContent)
            #expect(body.contains("Chỉ ghi ngày hẹn trả khi kết quả là"))
            (status, _, body) = try await Self.post(client, path, fixture.officer, "outcome=forgiven")
            #expect(body.contains("Hãy chọn một kết quả trong danh sách."))
            #expect(try await Self.value(database, "SELECT outcome::text FROM followups WHERE id = \(Int64(followup)!)") == nil)

            // Readers, other districts and the wrong commune are refused; nothing is written.
            (status, _, _) = try await Self.post(client, path, fixture.district, "outcome=paid")
            #expect(status == .forbidden)
            (status, _, _) = try await Self.post(client, path, fixture.staff, "outcome=paid")
            #expect(status == .forbidden, "an operator manages jobs, not the domain's records")
            (status, _, _) = try await Self.post(client, "/dashboard/C2/followup/\(followup)", fixture.officer, "outcome=paid")
            #expect(status == .notFound, "a follow-up of C1 is not found under C2")
            try await client.execute(uri: path, method: .get, headers: DashboardAPITests.bearer(fixture.district)) { #expect($0.status == .forbidden) }
            #expect(try await Self.value(database, "SELECT outcome::text FROM followups WHERE id = \(Int64(followup)!)") == nil)

            let location: String
            (status, location, _) = try await Self.post(client, path, fixture.officer, "outcome=promised&promised_on=2026-12-20&note=sau+thu+ho%E1%BA%A1ch")
            #expect(status == .seeOther)
            #expect(location == "/dashboard/C1?saved=followup")
            page = try await DashboardNavigationTests.page(client, location, fixture.officer)
            #expect(page.contains(#"<p class="saved" role="status">Đã ghi kết quả đôn đốc.</p>"#))
            #expect(page.contains("hứa trả hẹn 20/12/2026 — sau thu hoạch"))
            #expect(try await Self.summary(client, "C1", fixture.officer)["openFollowups"] as? Int == 0)
            #expect(try await Self.value(database, """
                SELECT token_name || ' ' || action || ' ' || outcome FROM audit_events WHERE action = 'followup.set' ORDER BY id DESC LIMIT 1
                """) == "D1 officer followup.set ok")
            // A reader sees the outcome but no forms.
            let forReader = try await DashboardNavigationTests.page(client, "/dashboard/C1", fixture.district)
            #expect(forReader.contains("hứa trả hẹn 20/12/2026"))
            #expect(!forReader.contains("Ghi kết quả"))
        }
    }

    @Test func anOfficerRecordsALoanUseCheckAReportHandedInAndAMovedSession() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let today = JobKinds.vietnamToday()
            _ = try await Importer(client: database, logger: DashboardAPITests.logger).importRecords(.loans, [
                ["L3", "B3", "Cho vay hộ cận nghèo", "30000000", "30000000", today.adding(days: -25).iso, today.adding(days: 700).iso],
            ])
            var page = try await DashboardNavigationTests.page(client, "/dashboard/C1", fixture.officer)
            #expect(page.contains("<h2>Món vay cần kiểm tra sử dụng vốn</h2>"))
            #expect(page.contains(#"<a href="/dashboard/C1/loan/L3/check""#))
            var (status, location, body) = try await Self.post(client, "/dashboard/C1/loan/L3/check", fixture.officer, "on=\(today.adding(days: 2).iso)")
            #expect(status == .unprocessableContent)
            #expect(body.contains(#"id="f-on-error">Ngày \#(today.adding(days: 2).vietnamese) chưa đến.</p>"#))
            (status, location, _) = try await Self.post(client, "/dashboard/C1/loan/L3/check", fixture.officer, "on=")
            #expect(status == .seeOther)
            #expect(try await Self.value(database, "SELECT use_checked_on::text FROM loans WHERE code = 'L3'") == today.iso)
            page = try await DashboardNavigationTests.page(client, location, fixture.officer)
            #expect(page.contains("Đã ghi kiểm tra sử dụng vốn."))
            #expect(!page.contains("/loan/L3/check"), "a checked loan leaves the list")
            (status, _, _) = try await Self.post(client, "/dashboard/C3/loan/L3/check", fixture.officer, "on=")
            #expect(status == .forbidden, "C3 lies outside D1")

            let report = try await Self.value(database, """
                INSERT INTO report_obligations (report_type_id, unit_id, period, due_on)
                SELECT t.id, u.id, \(String(today.year)), \(today.adding(days: 3).iso)::date FROM report_types t, units u
                WHERE t.code = 'BC-NAM' AND u.code = 'D1' RETURNING id::text
                """)!
            var summary = try await Self.summary(client, "D1", fixture.officer)
            #expect((summary["reports"] as? [String: Int])?["open"] == 1)
            page = try await DashboardNavigationTests.page(client, "/dashboard/D1", fixture.officer)
            #expect(page.contains(#"<a href="/dashboard/D1/report/\#(report)""#))
            (status, _, body) = try await Self.post(client, "/dashboard/D1/report/\(report)", fixture.officer, "on=&by=+")
            #expect(status == .unprocessableContent)
            #expect(body.contains(#"id="f-by-error">Ô này không được để trống.</p>"#))
            (status, location, _) = try await Self.post(
                client, "/dashboard/D1/report/\(report)", fixture.officer, "on=\(today.iso)&by=Nguy%E1%BB%85n+V%C4%83n+An")
            #expect(status == .seeOther)
            #expect(try await Self.value(database, "SELECT submitted_on::text || ' ' || submitted_by FROM report_obligations WHERE id = \(Int64(report)!)")
                == "\(today.iso) Nguyễn Văn An")
            summary = try await Self.summary(client, "D1", fixture.officer)
            #expect((summary["reports"] as? [String: Int])?["open"] == 0)
            #expect((summary["reports"] as? [String: Int])?["submittedThisYear"] == 1)

            let month = String(today.adding(days: 40).iso.prefix(7))
            let newDay = CalendarDate(iso: month + "-21")!
            (status, _, body) = try await Self.post(client, "/dashboard/C1/session/P1", fixture.officer, "month=\(month)&to=\(newDay.iso)&time=25%3A00")
            #expect(status == .unprocessableContent)
            #expect(body.contains("Giờ chưa đúng"))
            (status, _, body) = try await Self.post(client, "/dashboard/C1/session/P1", fixture.officer, "month=2026-1&to=\(newDay.iso)")
            #expect(status == .unprocessableContent)
            #expect(body.contains(#"id="f-month-error">Tháng chưa đúng"#) && body.contains(#"value="2026-1""#))
            (status, location, _) = try await Self.post(
                client, "/dashboard/C1/session/P1", fixture.officer, "month=\(month)&to=\(newDay.iso)&time=08%3A00&reason=b%C3%A3o")
            #expect(status == .seeOther)
            #expect(try await Self.value(database, "SELECT session_on::text || ' ' || reason FROM point_session_overrides") == "\(newDay.iso) bão")
            let form = try await DashboardNavigationTests.page(client, "/dashboard/C1/session/P1?month=\(month)", fixture.officer)
            #expect(form.contains("\(newDay.vietnamese) 08:00 (đã dời: bão)"))
            let actions = try await Self.value(database, "SELECT string_agg(action, ',' ORDER BY id) FROM audit_events WHERE token_name = 'D1 officer'")
            #expect(actions == "loan.check,report.submit,session.move")
        }
    }

    /// A form posted with a session cookie must carry the session's CSRF value, as the page's own form does.
    @Test func aFormPostedWithASessionCookieNeedsItsCSRFValue() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            var cookie = ""
            try await client.execute(uri: "/dashboard/D1?token=\(fixture.officer)", method: .get) { response in
                cookie = String((response.headers[.setCookie] ?? "").split(separator: ";")[0])
            }
            let sessionID = String(cookie.split(separator: "=", maxSplits: 1).last ?? "")
            let csrf = WebSessions.csrfToken(forSession: sessionID)
            var headers = Self.form
            headers[.cookie] = cookie
            let page = try await client.execute(uri: "/dashboard/C1/loan/L2/check", method: .get, headers: headers) { String(buffer: $0.body) }
            #expect(page.contains(#"<input type="hidden" name="csrf" value="\#(csrf)">"#))
            for forged in ["", "&csrf=forged"] {
                try await client.execute(uri: "/dashboard/C1/loan/L2/check", method: .post, headers: headers, body: ByteBuffer(string: "on=\(forged)")) {
                    #expect($0.status == .forbidden)
                }
            }
            #expect(try await Self.value(database, "SELECT use_checked_on::text FROM loans WHERE code = 'L2'") == nil)
            try await client.execute(uri: "/dashboard/C1/loan/L2/check", method: .post, headers: headers, body: ByteBuffer(string: "on=&csrf=\(csrf)")) {
                #expect($0.status == .seeOther)
            }
            #expect(try await Self.value(database, "SELECT use_checked_on::text FROM loans WHERE code = 'L2'") != nil)
        }
    }
}

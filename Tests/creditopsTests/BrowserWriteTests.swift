import AsyncHTTPClient
import CreditDomain
@testable import DashboardAPI
import Foundation
import PostgresNIO
import TestSupport
import Testing

/// A commune officer's week in a real headless Chromium: each of the four writes made by
/// clicking and typing, a mistake answered in Vietnamese next to its field, the result on the
/// page afterwards; a reader and a unit outside the token refused.
@Suite struct BrowserWriteTests {
    static func one(_ client: PostgresClient, _ sql: PostgresQuery) async throws -> String {
        for try await value in try await client.query(sql, logger: silentLogger).decode(String.self) { return value }
        throw TestFailure("no row for \(sql.sql.prefix(200))")
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// axe-core finds no serious or critical WCAG 2.1 AA violation on the open page.
    static func expectAccessible(_ browser: Browser, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let grave = try await browser.accessibilityViolations().filter { $0.impact == "serious" || $0.impact == "critical" }
        let url = try await browser.currentURL()
        #expect(grave.isEmpty, "\(url): \(grave)", sourceLocation: sourceLocation)
    }

    @Test func anOfficerRecordsEachWriteByClickingAndTypingAndAReaderIsRefused() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            let seeded = try await CreditOpsProcess.run(["seed", "--profile", "demo"], environment: environment, timeout: .seconds(120))
            #expect(seeded.status == 0, "\(seeded.stderr)")
            func token(_ arguments: [String]) async throws -> String {
                let made = try await CreditOpsProcess.run(["tokens", "create"] + arguments, environment: environment)
                return made.stdout.split(separator: "\n").last.map(String.init) ?? ""
            }
            let officer = try await token(["--unit", "T01-H01", "--role", "officer", "--name", "Cán bộ huyện"])
            let viewer = try await token(["--unit", "T01-H01"])

            // An overdue loan of a commune of T01-H01 with its first follow-up step (as the planner writes it),
            // and another loan of that commune disbursed lately, not yet checked.
            let picked = try await Self.one(client, """
                SELECT c.code || ' ' || l.code FROM loans l JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id
                JOIN units c ON c.id = g.commune_id JOIN units d ON d.id = c.parent_id
                WHERE d.code = 'T01-H01' AND l.outstanding > 0 AND l.due_on < current_date AND l.status = 'normal'
                ORDER BY l.due_on DESC, l.code LIMIT 1
                """).split(separator: " ").map(String.init)
            let (commune, overdueLoan) = (picked[0], picked[1])
            _ = try await client.query("""
                INSERT INTO followups (loan_id, due_on, overdue_days, planned_on)
                SELECT id, due_on, 7, due_on + 7 FROM loans WHERE code = \(overdueLoan)
                """, logger: silentLogger)
            let freshLoan = try await Self.one(client, """
                UPDATE loans SET disbursed_on = current_date - 25, use_checked_on = NULL
                WHERE code = (SELECT l.code FROM loans l JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id
                              JOIN units c ON c.id = g.commune_id
                              WHERE c.code = \(commune) AND l.due_on > current_date + 60 ORDER BY l.code LIMIT 1)
                RETURNING code
                """)
            let otherDistrictsLoan = try await Self.one(client, """
                SELECT c.code || '/loan/' || l.code FROM loans l JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id
                JOIN units c ON c.id = g.commune_id JOIN units d ON d.id = c.parent_id WHERE d.code = 'T01-H02' ORDER BY l.code LIMIT 1
                """)

            let (server, base) = try await BrowserTests.startServer(client, environment)
            defer { server.kill(signal: SIGKILL) }
            let communePage = "\(base)/dashboard/\(commune)"
            let browser = try await Browser.start()
            do {
                try await browser.open("\(base)/dashboard/T01-H01?token=\(officer)")
                try await browser.open(communePage)

                // 1. A follow-up's outcome: a date typed the wrong way is refused next to its field, then corrected.
                try await browser.clickAndWaitForNextPage("a[aria-label='Ghi kết quả: \(overdueLoan)']")
                try await Self.expectAccessible(browser)
                try await browser.click("#f-outcome option[value='promised']")
                try await browser.type("#f-promised_on", "20/12/2026")
                try await browser.type("#f-note", "hẹn sau thu hoạch")
                try await browser.clickAndWaitForNextPage("form button[type=submit]")
                var page = try await browser.source()
                #expect(page.contains(#"<p class="error" id="f-promised_on-error">Ngày chưa đúng"#), "\(page.prefix(3000))")
                try await Self.expectAccessible(browser)
                #expect(page.contains("hẹn sau thu hoạch"), "the note typed is kept")
                try await browser.type("#f-promised_on", "2026-12-20")
                try await browser.clickAndWaitForNextPage("form button[type=submit]")
                #expect(try await browser.currentURL() == "\(communePage)?saved=followup")
                page = try await browser.source()
                #expect(page.contains("Đã ghi kết quả đôn đốc."))
                #expect(page.contains("hứa trả hẹn 20/12/2026 — hẹn sau thu hoạch"))

                // 2. A loan-use check, on today (the field's default).
                try await browser.clickAndWaitForNextPage("a[aria-label='Ghi kiểm tra: \(freshLoan)']")
                try await browser.clickAndWaitForNextPage("form button[type=submit]")
                page = try await browser.source()
                #expect(page.contains("Đã ghi kiểm tra sử dụng vốn."))
                #expect(!page.contains("Ghi kiểm tra: \(freshLoan)"), "a checked loan leaves the list")

                // 3. A report handed in: the name is required.
                try await browser.clickAndWaitForNextPage("a[aria-label^='Xác nhận đã nộp']")
                let form = try await browser.currentURL()
                try await browser.type("#f-by", " ")
                try await browser.clickAndWaitForNextPage("form button[type=submit]")
                #expect(try await browser.source().contains(#"id="f-by-error">Ô này không được để trống.</p>"#))
                try await browser.type("#f-by", "Nguyễn Văn An")
                try await browser.clickAndWaitForNextPage("form button[type=submit]")
                page = try await browser.source()
                #expect(page.contains("Đã xác nhận báo cáo đã nộp."), "\(page.prefix(4000))")
                let reportID = Int64(form.split(separator: "/").last ?? "") ?? 0
                #expect(try await Self.one(client, "SELECT submitted_by FROM report_obligations WHERE id = \(reportID)") == "Nguyễn Văn An")

                // 4. A session moved three days from today, at 08:00, because of a storm.
                let newDay = CalendarDate(unixTime: Date().timeIntervalSince1970).adding(days: 3)
                try await browser.clickAndWaitForNextPage("a[aria-label^='Dời phiên']")
                try await browser.type("#f-to", newDay.iso)
                try await browser.type("#f-time", "08:00")
                try await browser.type("#f-reason", "bão")
                try await browser.clickAndWaitForNextPage("form button[type=submit]")
                page = try await browser.source()
                #expect(page.contains("Đã dời phiên giao dịch."))
                #expect(page.contains("<td>\(newDay.vietnamese)</td><td>08:00</td>"), "\(page.prefix(200))")

                // A form on a 360 px phone: nothing scrolls sideways.
                try await browser.setWindowSize(width: 360, height: 800)
                try await browser.open("\(base)/dashboard/\(commune)/followup/1")
                let width = try await browser.execute("return [document.documentElement.scrollWidth, window.innerWidth]") as? [Int] ?? []
                #expect(width.count == 2 && width[0] <= width[1], "the form scrolls sideways on a 360 px phone: \(width)")
                try await browser.setWindowSize(width: 1280, height: 1000)

                // Outside the token's district: refused.
                try await browser.open("\(base)/dashboard/\(otherDistrictsLoan)/check")
                #expect(try await browser.source().contains("outside this token's units"))

                // A reader of the same district sees the outcome, no form links, and is refused a form.
                try await browser.open("\(base)/dashboard/T01-H01?token=\(viewer)")
                try await browser.open(communePage)
                page = try await browser.source()
                #expect(page.contains("hứa trả hẹn 20/12/2026"))
                #expect(!page.contains("Ghi kết quả"))
                try await browser.open("\(base)/dashboard/\(commune)/loan/\(freshLoan)/check")
                #expect(try await browser.source().contains("recording this needs the officer role; this token is a viewer"))

                // The reader clicks the English switch: remembered for the next pages, none of which shows a Vietnamese label.
                try await browser.open(communePage)
                try await browser.clickAndWaitForNextPage("a[hreflang='en']")
                var english = try await browser.execute("return document.body.innerText") as? String ?? ""
                for page in ["\(base)/dashboard/T01-H01", "\(base)/dashboard/T01-H01/followups", "\(base)/login"] {
                    try await browser.open(page)
                    english += try await browser.execute("return document.body.innerText") as? String ?? ""
                }
                #expect(english.contains("Units below") && english.contains("Savings and credit groups") && english.contains("Month by month"))
                let t = DashboardTexts.vietnamese, f = FormTexts.vietnamese
                let labels = [t.childrenTitle, t.loansTitle, t.sessionsTitle, t.activityTitle, t.actionsTitle, t.groupsTitle, t.overdueLoansTitle,
                              t.download, t.year, t.show, TrendTexts.vietnamese.title, TrendTexts.vietnamese.coverage, LoginTexts.vietnamese.tokenLabel,
                              f.save, f.loansToCheckTitle] + Array(t.actionTitles.values) + Array(f.titles.values) + Array(f.labels.values)
                // Short words ("Tổ", "Báo cáo") also begin group and report names, which stay as they are.
                for label in labels where label.count >= 10 && english.contains(label) {
                    Issue.record("Vietnamese label on an English page in Chromium: \(label)")
                }
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()
            let actions = try await Self.one(client, """
                SELECT string_agg(action || ':' || outcome, ',' ORDER BY id) FROM audit_events WHERE token_name = 'Cán bộ huyện' AND action <> 'sign-in'
                """)
            #expect(actions == "followup.set:ok,loan.check:ok,report.submit:ok,session.move:ok")
            server.kill(signal: SIGTERM)
            #expect(await server.wait(timeout: .seconds(15)))
        }
    }
}

import CreditDomain
import CreditWorkers
@testable import DashboardAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Vietnamese by default, English by a switch that is remembered, or by the browser's languages.
@Suite struct DashboardLanguageTests {
    static func get(_ client: any TestClientProtocol, _ path: String, _ headers: HTTPFields) async throws -> (page: String, headers: HTTPFields) {
        try await client.execute(uri: path, method: .get, headers: headers) { response in
            #expect(response.status == .ok, "\(path)")
            return (String(buffer: response.body), response.headers)
        }
    }

    @Test func theSwitchChoosesEnglishAndACookieRemembersIt() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let bearer = DashboardAPITests.bearer(fixture.staff)
            let vietnamese = try await Self.get(client, "/dashboard/D1?year=2026", bearer)
            #expect(vietnamese.page.contains(#"<html lang="vi">"#))
            #expect(vietnamese.page.contains(#"<a href="/dashboard/D1?year=2026&amp;lang=en" lang="en" hreflang="en">English</a>"#))

            let english = try await Self.get(client, "/dashboard/D1?year=2026&lang=en", bearer)
            #expect(english.page.contains(#"<html lang="en">"#))
            #expect(english.page.contains("Units below"))
            let cookie = try #require(english.headers[values: .setCookie].first { $0.hasPrefix("creditops_lang=en") })
            var remembered = bearer
            remembered[.cookie] = String(cookie.prefix { $0 != ";" })
            #expect(try await Self.get(client, "/dashboard/D1", remembered).page.contains(#"<html lang="en">"#))

            var browserInEnglish = bearer
            browserInEnglish[.acceptLanguage] = "en-GB,en;q=0.9,vi;q=0.5"
            #expect(try await Self.get(client, "/dashboard/D1", browserInEnglish).page.contains(#"<html lang="en">"#))
            var browserInVietnamese = bearer
            browserInVietnamese[.acceptLanguage] = "fr, vi;q=0.8, en;q=0.7"
            #expect(try await Self.get(client, "/dashboard/D1", browserInVietnamese).page.contains(#"<html lang="vi">"#))
        }
    }

    @Test func theEnglishPageHasNoVietnameseLabel() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            // The district's page, and a commune's with its groups and an overdue loan followed up.
            _ = try await database.query("""
                INSERT INTO followups (loan_id, due_on, overdue_days, planned_on, outcome, promised_on, note)
                SELECT id, due_on, 7, due_on + 7, 'promised', due_on + 30, '' FROM loans WHERE code = 'L2'
                """, logger: DashboardAPITests.logger)
            var page = try await Self.get(client, "/dashboard/D1?year=2026&lang=en", DashboardAPITests.bearer(fixture.staff)).page
            page += try await Self.get(client, "/dashboard/C1?year=2026&lang=en", DashboardAPITests.bearer(fixture.staff)).page
            for list in ["inspections", "followups", "reports", "reminders"] {
                page += try await Self.get(client, "/dashboard/D1/\(list)?lang=en", DashboardAPITests.bearer(fixture.staff)).page
            }
            // An officer's pages: the forms' links, a form, and a form refused with every kind of problem.
            _ = try await database.query("""
                INSERT INTO unit_snapshots (unit_id, day, coverage_required, coverage_done, outstanding, overdue_amount, members, savers)
                SELECT id, DATE '2026-03-31', 2, 1, 100, 1, 10, 5 FROM units WHERE code IN ('D1', 'C1')
                """, logger: DashboardAPITests.logger)
            let officer = DashboardAPITests.bearer(fixture.officer)
            page += try await Self.get(client, "/dashboard/C1?year=2026&lang=en", officer).page
            page += try await Self.get(client, "/dashboard/C1/followup/1?lang=en", officer).page
            var posted = officer
            posted[.contentType] = "application/x-www-form-urlencoded"
            for body in ["outcome=x&note=" + String(repeating: "a", count: 1001), "outcome=paid&promised_on=2026-13-01", "outcome=&promised_on=2026-12-01"] {
                page += try await client.execute(uri: "/dashboard/C1/followup/1?lang=en", method: .post, headers: posted, body: ByteBuffer(string: body)) {
                    #expect($0.status == .unprocessableContent)
                    return String(buffer: $0.body)
                }
            }
            page += try await client.execute(uri: "/dashboard/C1/session/P1?lang=en", method: .post, headers: posted,
                                             body: ByteBuffer(string: "month=2026-1&to=2027-09-01&time=7h")) { String(buffer: $0.body) }
            #expect(page.contains("Savings and credit groups") && page.contains("promised to pay"))
            #expect(page.contains("Record outcome") && page.contains("Month by month") && page.contains("Not a date"))
            // Names are data and stay as they are; the switch names its language in that language.
            for name in ["Tỉnh đoàn P", "Huyện đoàn Một", "Đoàn xã Một", "Đoàn xã Hai", "Nhà văn hóa thôn 1", "Tổ thôn 1", "Hộ 2", ">Tiếng Việt<"] {
                page = page.replacingOccurrences(of: name, with: "")
            }
            let labels = Self.labels(DashboardTexts.vietnamese).union(Self.labels(FormTexts.vietnamese)).union(Self.labels(TrendTexts.vietnamese))
            #expect(labels.count > 50)
            for label in labels.sorted() {
                #expect(!page.contains(label), "Vietnamese label on the English page: \(label)")
            }
        }
    }

    /// The forms' fixed texts, and the words of each problem they can report.
    static func labels(_ f: FormTexts) -> Set<String> {
        let day = CalendarDate(iso: "2026-11-15")!
        var found = [f.save, f.cancel, f.notSaved, f.optional, f.loansToCheckTitle, f.actionColumn, f.loansToCheckNote(1999),
                     f.reportSubmitted("WHEN", "WHO"), f.sessionMoved("WHY")]
        found += Array(f.titles.values) + Array(f.saved.values) + Array(f.actions.values) + Array(f.labels.values) + Array(f.hints.values)
        found += f.loansToCheckColumns
        let problems: [FieldProblem] = [.missing, .notADate("x"), .notAMonth("x"), .notATime("x"), .notAnOption("x", options: []),
                                        .tooLong(max: 1999), .onlyWhenPromised, .inTheFuture(day), .tooFarFromMonth(day)]
        found += problems.map(f.problem)
        return split(found)
    }

    static func labels(_ t: TrendTexts) -> Set<String> {
        split([t.title, t.coverage, t.overdue, t.savings, t.noHistory, t.data, t.month, t.summary("CHART", 1999, "SHARE", 1998, nil)]
              + (1...12).map(t.monthLabel).filter { $0.count > 3 })
    }

    /// Texts split at the values put into them (digits and the placeholders' capitals).
    static func split(_ texts: [String]) -> Set<String> {
        var found: [String] = []
        for text in texts {
            found += text.components(separatedBy: CharacterSet(charactersIn: "0123456789/"))
                .flatMap { $0.components(separatedBy: "WHEN") }.flatMap { $0.components(separatedBy: "WHO") }
                .flatMap { $0.components(separatedBy: "WHY") }.flatMap { $0.components(separatedBy: "CHART") }
                .flatMap { $0.components(separatedBy: "SHARE") }
        }
        return Set(found.map { $0.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters).union(.symbols)) }
            .filter { $0.count >= 2 })
    }

    /// Every fixed text of a catalogue: its strings, lists and tables, and the words around the
    /// values its functions are given (split at those values).
    static func labels(_ t: DashboardTexts) -> Set<String> {
        let day = CalendarDate(iso: "2026-11-15")!
        var found = [t.switchLabel, t.breadcrumb, t.year, t.show, t.notComputed, t.noFigures, t.missing,
                     t.childrenTitle, t.loansTitle, t.loansShortTitle, t.loanCount, t.outstanding, t.overdue,
                     t.overdueRatio, t.savers, t.sessionsTitle, t.none, t.activityTitle, t.openFollowups,
                     t.openReports, t.submittedThisYear, t.remindersSent, t.remindersFailed, t.remindersExpired,
                     t.remindersLate, t.remindersOptedOut, t.reportsTitle]
        found += [t.download, t.groupsTitle, t.nothingNeeded, t.overdueLoansTitle, t.noOutcome, t.actionsTitle, t.open, t.nothingToDo]
        found += Array(t.actionTitles.values) + t.actionColumns.values.flatMap { $0 } + Array(t.reminderKinds.values) + Array(t.reminderStates.values)
        found += t.childrenColumns + t.sessionColumns + t.reportColumns + t.childrenExportColumns + t.groupColumns + t.overdueLoanColumns
        found += Array(t.levels.values) + Array(t.statuses.values) + Array(t.rules.values) + Array(t.outcomes.values) + Array(t.loanStatuses.values)
        let made = [
            t.title("UNIT", 1999), t.unitLine("LEVEL", "CODE", 1999), t.computedAt("WHEN"), t.time(11, 22, day),
            t.coverageTitle(1999), t.meetTheRule("SHARE"), t.shareMeeting("SHARE"), t.notApplicable(1999), t.andMore(1999),
            t.subtreeCompliant(1998, 1999), t.overdueValue("LOANS", "AMOUNT"), t.savingsShare("SHARE"), t.openReportsValue(1998, 1999),
            t.daysLate(1999), t.money(1999), t.stillNeeds(1999), t.daysOverdue(1999), t.step(1999), t.promisedBy("WHEN"),
            t.moreOverdue(1999), t.exportTitle("UNIT", "UNIT", "CODE", 1999, "WHEN"), t.backTo("UNIT"), t.listLimit(1999),
        ]
        for text in made {
            found += text.components(separatedBy: CharacterSet(charactersIn: "0123456789")).flatMap { $0.components(separatedBy: "UNIT") }
                .flatMap { $0.components(separatedBy: "LEVEL") }.flatMap { $0.components(separatedBy: "CODE") }
                .flatMap { $0.components(separatedBy: "WHEN") }.flatMap { $0.components(separatedBy: "SHARE") }
                .flatMap { $0.components(separatedBy: "LOANS") }.flatMap { $0.components(separatedBy: "AMOUNT") }
        }
        // Punctuation left between values (":", "/", " — ") says nothing of a language.
        return Set(found.map { $0.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters).union(.symbols)) }
            .filter { $0.count >= 2 })
    }
}

/// The sign-in pages follow the same choice of language as the dashboard.
@Suite struct LoginLanguageTests {
    @Test func theSignInPagesSpeakEnglishWhenAskedAndCarryNoVietnameseLabelThen() async throws {
        try await DashboardAPITests.withApp { client, _, _ in
            let vietnamese = try await DashboardLanguageTests.get(client, "/login", [:])
            #expect(vietnamese.page.contains(#"<html lang="vi">"#) && vietnamese.page.contains("<h1>Đăng nhập</h1>"))
            #expect(vietnamese.page.contains(#"<a href="/login?lang=en" lang="en" hreflang="en">English</a>"#))
            let english = try await DashboardLanguageTests.get(client, "/login?lang=en&next=%2Fdashboard%2FD1", [:])
            #expect(english.page.contains("<h1>Sign in</h1>") && english.page.contains(#"<label for="token">Access token</label>"#))
            #expect(english.page.contains(#"value="/dashboard/D1""#), "where to go next survives the switch")
            let cookie = try #require(english.headers[values: .setCookie].first { $0.hasPrefix("creditops_lang=en") })
            var page = english.page
            page += try await client.execute(uri: "/login", method: .post, headers: [.cookie: String(cookie.prefix { $0 != ";" }),
                .contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=co_wrong")) { response in
                #expect(response.status == .unauthorized)
                return String(buffer: response.body)
            }
            #expect(page.contains("The access token is wrong, revoked or expired."))
            page += try await client.execute(uri: "/login/not-a-code", method: .get, headers: [.acceptLanguage: "en"]) { String(buffer: $0.body) }
            #expect(page.contains("This sign-in link is not valid"))
            let t = LoginTexts.vietnamese
            for label in [t.signIn, t.tokenLabel, t.wrongToken, t.refusedTitle, t.signInWithToken, t.unknown, "Mã truy cập"] {
                #expect(!page.contains(label), "Vietnamese label on the English page: \(label)")
            }
        }
    }
}

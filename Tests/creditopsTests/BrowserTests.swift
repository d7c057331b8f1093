import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PostgresNIO
import TestSupport
import Testing

/// The dashboard and /ops in a real headless Chromium against `creditops run`, as officers and
/// operations staff use them.
@Suite struct BrowserTests {
    @Test func aDistrictReadsItsDashboardAndStaffRetryADiscardedJobByItsButton() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            let seeded = try await CreditOpsProcess.run(["seed", "--profile", "demo"], environment: environment, timeout: .seconds(120))
            #expect(seeded.status == 0, "\(seeded.stderr)")
            let district = try await CreditOpsProcess.run(["tokens", "create", "--unit", "T01-H01"], environment: environment)
            let staff = try await CreditOpsProcess.run(["tokens", "create", "--unit", "T01", "--staff"], environment: environment)
            let districtToken = district.stdout.split(separator: "\n").last.map(String.init) ?? ""
            // This year's month ends, for the trend charts.
            let backfilled = try await CreditOpsProcess.run(["aggregates", "backfill"], environment: environment, timeout: .seconds(120))
            #expect(backfilled.status == 0 && backfilled.stdout.contains("Kept the figures of"), "\(backfilled.stdout) \(backfilled.stderr)")
            let staffToken = staff.stdout.split(separator: "\n").last.map(String.init) ?? ""
            #expect(districtToken.hasPrefix("co_") && staffToken.hasPrefix("co_"))
            var jobID: Int64 = 0
            for try await id in try await client.query("""
                INSERT INTO jobs (queue, kind, state, attempt, max_attempts, errors, finalized_at)
                VALUES ('paused-for-test', 'noop', 'discarded', 1, 1, '[{"attempt":1,"at":"2026-11-27T00:00:00Z","error":"gateway said no"}]', now())
                RETURNING id
                """, logger: silentLogger).decode(Int64.self) {
                jobID = id
            }

            let job = jobID
            let (server, base) = try await Self.startServer(client, environment)
            defer { server.kill(signal: SIGKILL) }

            let browser = try await Browser.start()
            do {
                try await browser.open("\(base)/dashboard/T01-H01?token=\(districtToken)")
                let page = try await browser.source()
                #expect(page.contains("Huyện đoàn"))
                #expect(page.contains("Kiểm tra, giám sát của đơn vị năm"))
                #expect(page.contains("Các đơn vị trực thuộc"))
                #expect(page.contains("Tỷ lệ nợ quá hạn"))
                #expect(page.contains("Phiên giao dịch sắp tới"))
                // The communes' fourth-quarter reports are open.
                #expect(page.contains("Hạn nộp báo cáo"))
                #expect(page.contains("<svg"))
                #expect(try await browser.currentURL() == "\(base)/dashboard/T01-H01", "the token must leave the address bar")
                // The same browser, with its cookie, may not read another district.
                try await browser.open("\(base)/dashboard/T01-H02")
                let refused = try await browser.source()
                #expect(refused.contains("unit T01-H02 is outside this token's units"))
                #expect(!refused.contains("Các đơn vị trực thuộc"))

                try await browser.open("\(base)/ops?token=\(staffToken)")
                #expect(try await browser.source().contains("Hàng đợi"))
                try await browser.open("\(base)/ops/jobs/\(jobID)")
                #expect(try await browser.source().contains("gateway said no"))
                try await browser.click("form[action$='/retry'] button")
                let runnable = try await eventually(timeout: .seconds(10)) {
                    for try await state in try await client.query("SELECT state::text FROM jobs WHERE id = \(job)", logger: silentLogger)
                        .decode(String.self)
                    {
                        return state == "available"
                    }
                    return false
                }
                #expect(runnable)
                #expect(try await browser.source().contains("Chờ chạy"))
                // Cancelling asks first; the page is stale meanwhile (the CLI cancelled it), so the
                // confirmed cancel is refused and the job's page says why.
                let cancelled = try await CreditOpsProcess.run(["jobs", "cancel", "\(jobID)"], environment: environment)
                #expect(cancelled.status == 0, "\(cancelled.stderr)")
                try await browser.clickAndWaitForNextPage("form[action$='/cancel'] button")
                #expect(try await browser.source().contains("Hủy công việc \(jobID) (noop)?"))
                try await browser.clickAndWaitForNextPage("form[action$='/cancel'] button")
                #expect(try await browser.currentURL().hasPrefix("\(base)/ops/jobs/\(jobID)?message="))
                let refusal = try await browser.source()
                #expect(refusal.contains(#"<p class="error" role="alert">"#) && refusal.contains("Đã hủy"), "\(refusal.prefix(1500))")

                // The open page follows the queue without a reload: a job enqueued from the CLI appears.
                try await browser.open("\(base)/ops")
                _ = try await browser.execute("window.__stillTheSamePage = true; return 0")
                let enqueued = try await CreditOpsProcess.run(["enqueue", "noop", "--run-at", "2030-01-01T07:00:00+07:00"], environment: environment)
                let newJob = enqueued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(enqueued.status == 0 && !newJob.isEmpty, "\(enqueued.stderr)")
                let followed = try await eventually(timeout: .seconds(30)) {
                    try await browser.execute("return document.getElementById('jobs').innerHTML.includes('/ops/jobs/\(newJob)\"') && window.__stillTheSamePage === true") as? Bool == true
                }
                #expect(followed, "the jobs table did not show job \(newJob) without a reload")

                // A bulk retry by filter: the page asks with the count, then retries every match.
                _ = try await client.query("""
                    INSERT INTO jobs (queue, kind, state, attempt, max_attempts, finalized_at)
                    SELECT 'bulk-test', 'noop', 'discarded', 1, 1, now() FROM generate_series(1, 2)
                    """, logger: silentLogger)
                try await browser.open("\(base)/ops?state=discarded&queue=bulk-test")
                try await browser.clickAndWaitForNextPage("form[action^='/ops/bulk/retry'] button")
                #expect(try await browser.source().contains("2 công việc khớp bộ lọc"))
                try await browser.clickAndWaitForNextPage("form[action^='/ops/bulk/retry'] button")
                #expect(try await browser.source().contains("Chạy lại: 2 trong 2 công việc khớp bộ lọc."))
                for try await left in try await client.query(
                    "SELECT count(*)::int8 FROM jobs WHERE queue = 'bulk-test' AND state = 'discarded'", logger: silentLogger
                ).decode(Int64.self) {
                    #expect(left == 0)
                }

                try await browser.setWindowSize(width: 1280, height: 1400)
                try await browser.open("\(base)/ops")
                // The worker of `creditops run` completed the seed's recompute jobs: the charts count them.
                let chart = try await browser.execute(
                    "return Array.from(document.querySelectorAll('svg.outcomes')).map(function (s) { return s.getAttribute('aria-label'); }).join('|')") as? String ?? ""
                let completedNow = chart.components(separatedBy: "|").first { $0.hasPrefix("Hàng đợi aggregates, 60 phút qua") }
                    .flatMap { $0.components(separatedBy: ": ").last?.components(separatedBy: " hoàn thành").first }.flatMap(Int.init) ?? 0
                #expect(completedNow > 0, "no chart of the aggregates queue's completed jobs: \(chart)")
                try await browser.screenshotForDocs("ops")

                // "Run now" of a periodic job (this server runs no leader, so none was scheduled yet).
                try await browser.clickAndWaitForNextPage("form[action='/ops/periodic/aggregates-refresh/run'] button")
                #expect(try await browser.currentURL().hasPrefix("\(base)/ops/jobs/"))
                #expect(try await browser.source().contains("aggregates.rebuild"))

                // Staff of the province drill down to a commune by its links, and back up by the breadcrumb.
                try await browser.open("\(base)/dashboard/T01")
                #expect(!(try await browser.source().contains("aria-label=\"Đường dẫn\"")), "the root has no way up")
                try await browser.click("main a[href^='/dashboard/T01-H01?']")
                #expect(try await browser.currentURL().hasPrefix("\(base)/dashboard/T01-H01?year="))
                try await browser.click("main a[href^='/dashboard/T01-H01-']")
                let commune = try await browser.currentURL()
                #expect(commune.hasPrefix("\(base)/dashboard/T01-H01-"), "at \(commune)")
                let communePage = try await browser.source()
                #expect(communePage.contains("Đoàn xã"))
                #expect(communePage.contains("href=\"/dashboard/T01?year="))
                try await browser.click("nav a[href^='/dashboard/T01-H01?']")
                #expect(try await browser.currentURL().hasPrefix("\(base)/dashboard/T01-H01?year="))
                try await browser.click("nav a[href^='/dashboard/T01?']")
                #expect(try await browser.currentURL().hasPrefix("\(base)/dashboard/T01?year="))
                #expect(try await browser.source().contains("Các đơn vị trực thuộc"))

                // axe-core in the pages staff use: no serious or critical WCAG 2.1 AA violation.
                for page in ["\(base)/dashboard/T01-H01", commune, "\(base)/dashboard/T01-H01/followups", "\(base)/dashboard/T01-H01/reports",
                             "\(base)/ops", "\(base)/login"] {
                    try await browser.open(page)
                    let violations = try await browser.accessibilityViolations()
                    let grave = violations.filter { $0.impact == "serious" || $0.impact == "critical" }
                    #expect(grave.isEmpty, "\(page): \(grave)")
                }

                // Pictures for the README (only when CREDITOPS_SCREENSHOTS is set), then a phone.
                try await browser.setWindowSize(width: 1280, height: 1400)
                try await browser.open("\(base)/dashboard/T01-H01")
                try await browser.screenshotForDocs("dashboard")
                try await browser.open(commune)
                try await browser.screenshotForDocs("commune")
                try await browser.open("\(base)/dashboard/T01-H01/followups")
                try await browser.screenshotForDocs("action-list")
                try await browser.open("\(base)/dashboard/T01-H01")
                #expect(try await browser.source().contains("<polyline class=\"this-year\""), "the backfilled months are drawn")
                _ = try await browser.execute("document.querySelector('.trends').scrollIntoView(); return 0")
                try await browser.screenshotForDocs("trend")
                try await browser.setWindowSize(width: 360, height: 800)
                for page in ["\(base)/dashboard/T01-H01", commune, "\(base)/dashboard/T01-H01/followups"] {
                    try await browser.open(page)
                    let width = try await browser.execute("return [document.documentElement.scrollWidth, window.innerWidth]") as? [Int] ?? []
                    #expect(width.count == 2, "\(width)")
                    if width.count == 2 { #expect(width[0] <= width[1], "\(page) scrolls sideways on a 360 px phone: \(width)") }
                }
                try await browser.open("\(base)/dashboard/T01-H01")
                try await browser.screenshotForDocs("phone")
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()
            // The workers of `run` computed the figures; their counters and the HTTP requests'
            // timings are on /metrics in Prometheus' text format.
            let metrics = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(5))
            let text = String(buffer: try await metrics.body.collect(upTo: 8 << 20))
            #expect(text.contains("creditops_jobs_completed_total{"))
            #expect(text.contains("http_server_request_duration_bucket{"))
            #expect(text.contains("/dashboard/{code}"))
            #expect(text.contains("creditops_queue_oldest_available_seconds{"))
            server.kill(signal: SIGTERM)
            #expect(await server.wait(timeout: .seconds(15)))
        }
    }

    /// `creditops run` on a free loopback port, once it is ready and the seed's figures are computed.
    static func startServer(_ client: PostgresClient, _ environment: [String: String]) async throws -> (CreditOpsProcess.Running, String) {
        let port = try freePort()
        let server = try CreditOpsProcess.start(["run", "--http", "127.0.0.1:\(port)", "--no-leader",
                                                 "--log-level", "warning"], environment: environment)
        let base = "http://127.0.0.1:\(port)"
        let ready = try await eventually(timeout: .seconds(30)) {
            let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/readyz"), timeout: .seconds(2))
            return response?.status == .ok
        }
        #expect(ready, "\(server.stderr())")
        // The seed's recompute jobs fill the figures the dashboard shows.
        let computed = try await eventually(timeout: .seconds(60)) {
            for try await pending in try await client.query(
                "SELECT count(*) FROM jobs WHERE kind LIKE 'aggregates.%' AND state IN ('available', 'running')", logger: silentLogger
            ).decode(Int.self) {
                return pending == 0
            }
            return false
        }
        #expect(computed)
        return (server, base)
    }

    /// A sign-in link as people get it: in webmail or Zalo, a page of another site, clicked there.
    /// The session cookie (SameSite=Lax) must come along on that navigation, so the click lands
    /// on the dashboard; the link is then spent.
    @Test func aSignInLinkClickedOnAnotherSiteLandsOnTheDashboardOnce() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            let seeded = try await CreditOpsProcess.run(["seed", "--profile", "demo"], environment: environment, timeout: .seconds(120))
            #expect(seeded.status == 0, "\(seeded.stderr)")
            let port = try freePort()
            let base = "http://127.0.0.1:\(port)"
            let made = try await CreditOpsProcess.run(["tokens", "link", "--unit", "T01-H01", "--base-url", base], environment: environment)
            #expect(made.status == 0, "\(made.stderr)")
            let link = made.stdout.split(separator: "\n").last.map(String.init) ?? ""
            #expect(link.hasPrefix("\(base)/login/"))
            let server = try CreditOpsProcess.start(["serve", "--http", "127.0.0.1:\(port)", "--log-level", "warning"], environment: environment)
            defer { server.kill(signal: SIGKILL) }
            let ready = try await eventually(timeout: .seconds(30)) {
                let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/readyz"), timeout: .seconds(2))
                return response?.status == .ok
            }
            #expect(ready, "\(server.stderr())")

            let page = #"<!doctype html><html><body><p>Thư mới</p><a id="go" href="\#(link)">Mở bảng điều khiển</a></body></html>"#
            try await OtherSite.serving(page) { otherSite in
                let browser = try await Browser.start()
                do {
                    try await browser.open(otherSite)
                    try await browser.click("#go")
                    let landed = try await eventually(timeout: .seconds(20)) { try await browser.currentURL() == "\(base)/dashboard/T01-H01" }
                    let at = try await browser.currentURL()
                    #expect(landed, "at \(at)")
                    let dashboard = try await browser.source()
                    #expect(dashboard.contains("Huyện đoàn"), "\(dashboard.prefix(500))")
                    #expect(!dashboard.contains("bearer token is required"))
                    // The second use of the same link: a page that says so, in Vietnamese.
                    try await browser.open(link)
                    #expect(try await browser.source().contains("Liên kết đăng nhập này đã được dùng"))
                } catch {
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
            let audit = try await CreditOpsProcess.run(["audit", "list", "--json"], environment: environment)
            #expect(audit.stdout.contains(#""action" : "sign-in""#) && audit.stdout.contains(#""action" : "link.create""#), "\(audit.stdout.prefix(2000))")
            server.kill(signal: SIGTERM)
            #expect(await server.wait(timeout: .seconds(15)))
        }
    }
}

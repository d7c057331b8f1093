import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// The dashboard as a place to move around in: links down, a breadcrumb up (never above the
/// viewer's own unit), a year selector, badges people can read.
@Suite struct DashboardNavigationTests {
    static func page(_ client: any TestClientProtocol, _ path: String, _ token: String) async throws -> String {
        try await client.execute(uri: path, method: .get, headers: DashboardAPITests.bearer(token)) { response in
            #expect(response.status == .ok, "\(path)")
            return String(buffer: response.body)
        }
    }

    @Test func childrenLinkDownAndTheBreadcrumbLeadsUpToTheViewersOwnUnit() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let province = try await Self.page(client, "/dashboard/P?year=2026", fixture.staff)
            #expect(province.contains(#"<a href="/dashboard/D1?year=2026">Huyện đoàn Một</a>"#))
            #expect(province.contains(#"<a href="/dashboard/D2?year=2026">Huyện đoàn Hai</a>"#))
            #expect(!province.contains("aria-label=\"Đường dẫn\""))

            let communeForStaff = try await Self.page(client, "/dashboard/C1?year=2026", fixture.staff)
            #expect(communeForStaff.contains(
                #"<ol class="crumbs"><li><a href="/dashboard/P?year=2026">Tỉnh đoàn P</a></li><li><a href="/dashboard/D1?year=2026">Huyện đoàn Một</a></li><li aria-current="page">Đoàn xã Một</li></ol>"#))

            // A district's viewer sees the way up to its district, not to the province above it.
            let communeForDistrict = try await Self.page(client, "/dashboard/C1?year=2026", fixture.district)
            #expect(communeForDistrict.contains(#"<li><a href="/dashboard/D1?year=2026">Huyện đoàn Một</a></li><li aria-current="page">"#))
            #expect(!communeForDistrict.contains("/dashboard/P?"))
        }
    }

    @Test func theYearSelectorOffersRecentYearsAndKeepsTheChosenOne() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let page = try await Self.page(client, "/dashboard/D1?year=2019", fixture.district)
            #expect(page.contains(#"<form class="year" method="get" action="/dashboard/D1"><label for="year">Năm</label>"#))
            #expect(page.contains(#"<option value="2019" selected>2019</option>"#))
            let thisYear = Calendar(identifier: .gregorian).component(.year, from: Date())
            #expect(page.contains(#"<option value="\#(thisYear)">"#) || page.contains(#"<option value="\#(thisYear + 1)">"#))
        }
    }

    @Test func everyBadgeMeetsWCAGAAContrast() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let page = try await Self.page(client, "/dashboard/P", fixture.staff)
            #expect(page.contains(#"class="badge" style="background:#"#))
            for match in page.matches(of: /class="badge" style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})"/) {
                let ratio = Self.contrast(String(match.output.1), String(match.output.2))
                #expect(ratio >= 4.5, "\(match.output.0): \(ratio)")
            }
            #expect(!page.contains(#"class="badge" style="background:#f9a825">"#), "a badge without its text colour")
        }
    }

    /// WCAG 2.1's formula, written here again so that the test does not trust the page's own.
    static func contrast(_ a: String, _ b: String) -> Double {
        func luminance(_ hex: String) -> Double {
            let value = Int(hex.dropFirst(), radix: 16)!
            func linear(_ shift: Int) -> Double {
                let c = Double((value >> shift) & 0xff) / 255
                if c <= 0.03928 { return c / 12.92 }
                return pow((c + 0.055) / 1.055, 2.4)
            }
            let r: Double = 0.2126 * linear(16), g: Double = 0.7152 * linear(8), b: Double = 0.0722 * linear(0)
            return r + g + b
        }
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    @Test func aCommunePageListsItsGroupsAndItsOverdueLoansWithTheirFollowUps() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            var page = try await Self.page(client, "/dashboard/C1?year=2026", fixture.district)
            #expect(page.contains("<h2>Các tổ tiết kiệm và vay vốn</h2>"))
            #expect(page.contains(#"<tr><th scope="row">Tổ thôn 1 <span class="muted">G1</span></th>"#))
            #expect(page.contains("<td>P1 (Nhà văn hóa thôn 1)</td>"))
            #expect(page.contains("<td>3</td><td>—</td>"), "three members, never inspected")
            #expect(page.contains("<h2>Các món nợ quá hạn</h2>"))
            #expect(page.contains(#"<tr><th scope="row">L2</th><td>Hộ 2</td><td>Tổ thôn 1</td>"#))
            #expect(page.contains("<td>10 ngày ("))
            #expect(page.contains("<td>—</td><td>chưa có kết quả</td>"))
            #expect(!page.contains(">L1<"), "L1 is not overdue")

            _ = try await database.query("""
                INSERT INTO followups (loan_id, due_on, overdue_days, planned_on, outcome, promised_on, note)
                SELECT id, due_on, 7, due_on + 7, 'promised', DATE '2026-12-20', 'sau thu hoạch' FROM loans WHERE code = 'L2'
                """, logger: DashboardAPITests.logger)
            page = try await Self.page(client, "/dashboard/C1?year=2026", fixture.district)
            #expect(page.contains("<td>mốc 7 ngày</td><td>hứa trả hẹn 20/12/2026 — sau thu hoạch</td>"))

            let district = try await Self.page(client, "/dashboard/D1?year=2026", fixture.district)
            #expect(!district.contains("Các tổ tiết kiệm và vay vốn"), "groups are listed on the commune's page")
        }
    }
}

import CreditDomain
import CreditWorkers
import Foundation

/// The HTML dashboard of one unit, in Vietnamese, drawn entirely on the server: inline SVG, no
/// scripts, fonts or styles from elsewhere, so it works offline.
struct DashboardPage {
    let figures: UnitFigures?
    let summary: UnitSummary
    let year: Int
    /// From the viewer's own unit down to this one.
    let path: UnitPath
    /// The current year in Vietnam, the newest the year selector offers.
    let thisYear: Int

    static let statusLabels = ["compliant": "Đạt", "not_compliant": "Chưa đạt", "not_applicable": "Không áp dụng"]
    static let ruleLabels = [
        "province": "Quy định cấp tỉnh: mỗi huyện ít nhất 1 xã có tổ được kiểm tra đủ",
        "district": "Quy định cấp huyện: mỗi xã kiểm tra ít nhất 15% số tổ",
        "commune": "Quy định cấp xã: kiểm tra tất cả các tổ",
        "mixed": "Áp dụng quy định theo cấp của từng đơn vị",
    ]
    static let levelLabels = ["province": "Tỉnh đoàn", "district": "Huyện đoàn", "commune": "Đoàn xã"]

    func render() -> String {
        var html = """
            <!doctype html>
            <html lang="vi"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(summary.name)) — Bảng theo dõi ủy thác \(year)</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f5f5;color:#212121}
            header{background:#1565c0;color:#fff;padding:16px 24px}
            header h1{margin:0;font-size:1.4em} header p{margin:4px 0 0}
            header a{color:#fff} .crumbs{list-style:none;margin:0 0 6px;padding:0;display:flex;flex-wrap:wrap;gap:4px;font-size:.9em}
            .crumbs li+li::before{content:"›";margin-right:4px}
            .year{margin-top:8px} .year select,.year button{font:inherit;padding:2px 6px}
            a:focus-visible,button:focus-visible,select:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
            main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(340px,100%),1fr));gap:16px;padding:16px 24px}
            .scroll{overflow-x:auto}
            @media (max-width:480px){main{padding:12px 8px} header{padding:12px}}
            section{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
            section.wide{grid-column:1/-1}
            h2{font-size:1.1em;margin:0 0 12px} table{border-collapse:collapse;width:100%}
            th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eee;font-size:.92em} th{color:#616161;font-weight:600}
            .big{font-size:2em;font-weight:700} .muted{color:#757575;font-size:.85em}
            .badge{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;font-size:.82em}
            </style></head><body>
            <header>\(breadcrumb())<h1>\(escapeHTML(summary.name))</h1>
            <p>\(escapeHTML(Self.levelLabels[summary.level] ?? summary.level)) · mã \(escapeHTML(summary.unit)) · năm \(year)</p>
            \(yearSelector())</header>
            <main>
            """
        html += coverageSection()
        html += childrenSection()
        html += loansSection()
        html += sessionsSection()
        html += activitySection()
        html += """
            </main>
            <p class="muted" style="padding:0 24px 24px">Số liệu tính lại lúc \(escapeHTML(updatedAt())). Trang được tạo trên máy chủ, không cần kết nối ngoài.</p>
            </body></html>
            """
        return html
    }

    /// The way back up: every unit from the viewer's own down to this one, each a link but the last.
    private func breadcrumb() -> String {
        guard path.steps.count > 1 else { return "" }
        var html = "<nav aria-label=\"Đường dẫn\"><ol class=\"crumbs\">"
        for step in path.steps.dropLast() {
            html += "<li><a href=\"\(Self.link(step.code, year: year))\">\(escapeHTML(step.name))</a></li>"
        }
        return html + "<li aria-current=\"page\">\(escapeHTML(summary.name))</li></ol></nav>"
    }

    /// A plain form: works without scripts.
    private func yearSelector() -> String {
        let years = Set((thisYear - 5...thisYear)).union([year]).sorted(by: >)
        var html = "<form class=\"year\" method=\"get\" action=\"/dashboard/\(escapeHTML(summary.unit))\"><label for=\"year\">Năm</label> <select id=\"year\" name=\"year\">"
        for option in years { html += "<option value=\"\(option)\"\(option == year ? " selected" : "")>\(option)</option>" }
        return html + "</select> <button type=\"submit\">Xem</button></form>"
    }

    /// The dashboard of `code` for `year`.
    static func link(_ code: String, year: Int) -> String {
        "/dashboard/\(escapeHTML(code.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? code))?year=\(year)"
    }

    private func updatedAt() -> String {
        guard let date = summary.updatedAt ?? figures?.coverage?.updatedAt else { return "chưa tính" }
        let local = date.timeIntervalSince1970 + Double(CalendarDate.vietnamOffsetSeconds)
        let day = CalendarDate(unixTime: date.timeIntervalSince1970)
        let seconds = Int(local.truncatingRemainder(dividingBy: 86_400))
        return String(format: "%02d:%02d ngày %@", seconds / 3600, seconds % 3600 / 60, day.vietnamese)
    }

    private func badge(_ status: String?, _ percentage: Double?) -> String {
        let label = status.flatMap { Self.statusLabels[$0] } ?? "Chưa tính"
        let colour = Palette.coverage(status: status, percentage: percentage)
        return "<span class=\"badge\" style=\"background:\(colour);color:\(Palette.text(on: colour))\">\(label)</span>"
    }

    private func coverageSection() -> String {
        guard let coverage = figures?.coverage else {
            return "<section><h2>Kiểm tra, giám sát \(year)</h2><p>Chưa có số liệu.</p></section>"
        }
        let percent = coverage.percentage.map { String(format: "%.1f%%", $0) } ?? "—"
        var html = """
            <section><h2>Kiểm tra, giám sát của đơn vị năm \(year)</h2>
            <p>\(escapeHTML(Self.ruleLabels[coverage.rule] ?? coverage.rule))</p>
            <p><span class="big">\(coverage.done)/\(coverage.required)</span> đạt yêu cầu (\(percent)) \(badge(coverage.status, coverage.percentage))</p>
            \(Self.bar(fraction: coverage.percentage.map { $0 / 100 }, colour: Palette.coverage(status: coverage.status, percentage: coverage.percentage), label: "Tỷ lệ đạt \(percent)"))
            """
        if coverage.notApplicable > 0 {
            html += "<p class=\"muted\">\(coverage.notApplicable) đơn vị không có tổ (không áp dụng).</p>"
        }
        if !coverage.missing.isEmpty {
            let names = Dictionary(figures?.items.map { ($0.code, $0.name) } ?? [], uniquingKeysWith: { a, _ in a })
            html += "<p><strong>Còn thiếu:</strong> " + coverage.missing.prefix(30).map { escapeHTML(names[$0] ?? $0) }.joined(separator: ", ")
                + (coverage.missing.count > 30 ? " và \(coverage.missing.count - 30) đơn vị khác" : "") + "</p>"
        }
        html += "<p class=\"muted\">Đơn vị cấp dưới đạt yêu cầu: \(coverage.subtreeCompliant)/\(coverage.subtreeUnits)</p></section>"
        return html
    }

    private func childrenSection() -> String {
        guard let children = figures?.children, !children.isEmpty else { return "" }
        var html = """
            <section class="wide"><h2>Các đơn vị trực thuộc</h2>
            <div class="scroll"><table><thead><tr><th scope="col">Đơn vị</th><th scope="col">Kiểm tra (tự thực hiện)</th><th scope="col">Tỷ lệ</th><th scope="col">Còn thiếu</th><th scope="col">Nợ quá hạn</th></tr></thead><tbody>
            """
        for child in children {
            let coverage = child.coverage
            let percent = coverage?.percentage.map { String(format: "%.0f%%", $0) } ?? "—"
            let missing = coverage.map { $0.missing.isEmpty ? "—" : $0.missing.prefix(5).joined(separator: ", ") + ($0.missing.count > 5 ? "…" : "") } ?? "—"
            let ratio = child.loans?.overdueRatio
            html += """
                <tr><th scope="row"><a href="\(Self.link(child.code, year: year))">\(escapeHTML(child.name))</a></th>
                <td>\(badge(coverage?.status, coverage?.percentage)) \(coverage.map { "\($0.done)/\($0.required)" } ?? "")</td>
                <td>\(Self.bar(fraction: coverage?.percentage.map { $0 / 100 }, colour: Palette.coverage(status: coverage?.status, percentage: coverage?.percentage), label: percent, width: 120))</td>
                <td>\(escapeHTML(missing))</td>
                <td><span class="badge" style="\(Self.badgeStyle(Palette.overdue(ratio: ratio)))">\(ratio.map { String(format: "%.2f%%", $0 * 100) } ?? "—")</span></td></tr>
                """
        }
        return html + "</tbody></table></div></section>"
    }

    private func loansSection() -> String {
        guard let loans = summary.loans else { return "<section><h2>Dư nợ</h2><p>Chưa có số liệu.</p></section>" }
        let ratio = loans.overdueRatio.map { String(format: "%.2f%%", $0 * 100) } ?? "—"
        let savings = loans.savingsParticipation.map { String(format: "%.0f%%", $0 * 100) } ?? "—"
        return """
            <section><h2>Dư nợ và nợ quá hạn</h2>
            <div class="scroll"><table>
            <tr><th scope="row">Số món vay</th><td>\(VietnameseFormat.grouped(loans.loans))</td></tr>
            <tr><th scope="row">Dư nợ</th><td>\(VietnameseFormat.money(loans.outstanding))</td></tr>
            <tr><th scope="row">Nợ quá hạn</th><td>\(VietnameseFormat.grouped(loans.overdueLoans)) món, \(VietnameseFormat.money(loans.overdueAmount))</td></tr>
            <tr><th scope="row">Tỷ lệ nợ quá hạn</th><td><span class="badge" style="\(Self.badgeStyle(Palette.overdue(ratio: loans.overdueRatio)))">\(ratio)</span></td></tr>
            <tr><th scope="row">Tổ viên gửi tiết kiệm</th><td>\(VietnameseFormat.grouped(loans.savers))/\(VietnameseFormat.grouped(loans.members)) (\(savings))</td></tr>
            </table></div>
            \(Self.bar(fraction: loans.savingsParticipation, colour: Palette.green, label: "Tỷ lệ tham gia tiết kiệm \(savings)"))
            </section>
            """
    }

    private func sessionsSection() -> String {
        var html = "<section><h2>Phiên giao dịch sắp tới</h2>"
        if summary.nextSessions.isEmpty { return html + "<p>Không có.</p></section>" }
        html += "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Ngày</th><th scope=\"col\">Giờ</th><th scope=\"col\">Xã</th><th scope=\"col\">Địa điểm</th></tr></thead><tbody>"
        for session in summary.nextSessions {
            let day = CalendarDate(iso: session.date)?.vietnamese ?? session.date
            html += "<tr><td>\(day)</td><td>\(escapeHTML(session.time))</td><td>\(escapeHTML(session.commune))</td><td>\(escapeHTML(session.location))</td></tr>"
        }
        return html + "</tbody></table></div></section>"
    }

    private func activitySection() -> String {
        """
        <section><h2>Đôn đốc, báo cáo và nhắc nhở</h2>
        <div class="scroll"><table>
        <tr><th scope="row">Đôn đốc nợ quá hạn chưa có kết quả</th><td>\(summary.openFollowups)</td></tr>
        <tr><th scope="row">Báo cáo chưa nộp</th><td>\(summary.reports.open) (quá hạn: \(summary.reports.late))</td></tr>
        <tr><th scope="row">Báo cáo đã nộp trong năm</th><td>\(summary.reports.submittedThisYear)</td></tr>
        <tr><th scope="row">Tin nhắc đã gửi (30 ngày)</th><td>\(summary.remindersSent30Days)</td></tr>
        <tr><th scope="row">Tin nhắc gửi lỗi (30 ngày)</th><td>\(summary.remindersFailed30Days)</td></tr>
        <tr><th scope="row">Tin nhắc hết hạn, không gửi (30 ngày)</th><td>\(summary.remindersExpired30Days)</td></tr>
        <tr><th scope="row">Tin nhắc gửi muộn (30 ngày)</th><td>\(summary.remindersLate30Days)</td></tr>
        <tr><th scope="row">Tin nhắc không gửi vì người nhận từ chối (30 ngày)</th><td>\(summary.remindersOptedOut30Days)</td></tr>
        </table></div>\(openReportsTable())</section>
        """
    }

    private func openReportsTable() -> String {
        guard !summary.openReports.isEmpty else { return "" }
        var html = "<h2 style=\"margin-top:16px\">Hạn nộp báo cáo</h2><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Báo cáo</th><th scope=\"col\">Đơn vị</th><th scope=\"col\">Hạn</th><th scope=\"col\"></th></tr></thead><tbody>"
        for report in summary.openReports {
            let due = CalendarDate(iso: report.due)?.vietnamese ?? report.due
            let late = report.daysLate > 0
                ? "<span class=\"badge\" style=\"\(Self.badgeStyle(Palette.red))\">quá hạn \(report.daysLate) ngày</span>" : ""
            html += "<tr><td>\(escapeHTML(report.report)) (\(escapeHTML(report.period)))</td><td>\(escapeHTML(report.unit))</td><td>\(due)</td><td>\(late)</td></tr>"
        }
        return html + "</tbody></table></div>"
    }

    static func badgeStyle(_ background: String) -> String {
        "background:\(background);color:\(Palette.text(on: background))"
    }

    /// A horizontal bar as inline SVG.
    static func bar(fraction: Double?, colour: String, label: String, width: Int = 300) -> String {
        let filled = Int((min(max(fraction ?? 0, 0), 1) * Double(width)).rounded())
        return """
            <svg width="\(width)" height="14" role="img" aria-label="\(escapeHTML(label))" viewBox="0 0 \(width) 14">\
            <rect width="\(width)" height="14" rx="3" fill="#e0e0e0"/><rect width="\(filled)" height="14" rx="3" fill="\(colour)"/></svg>
            """
    }
}

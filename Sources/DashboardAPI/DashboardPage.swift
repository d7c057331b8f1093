import CreditDomain
import CreditWorkers
import Foundation

/// The HTML dashboard of one unit, in Vietnamese or English, drawn entirely on the server: inline SVG, no
/// scripts, fonts or styles from elsewhere, so it works offline.
struct DashboardPage {
    let figures: UnitFigures?
    let summary: UnitSummary
    let year: Int
    /// From the viewer's own unit down to this one.
    let path: UnitPath
    /// The current year in Vietnam, the newest the year selector offers.
    let thisYear: Int

    /// The page's labels, in the reader's language.
    let texts: DashboardTexts
    /// A commune's groups and overdue loans; nil above the communes.
    var commune: CommuneDetails? = nil
    /// The reader may record outcomes, checks, reports and moved sessions (an officer): the
    /// tables then link each row to its form.
    var canWrite = false
    /// What the reader just saved, for the banner that confirms it.
    var saved: RecordKind? = nil
    /// The unit's month-end figures of this year and last, for the trend charts.
    var trends: [UnitSnapshots.Month] = []
    /// Seconds the figures lag behind the primary when read from a replica; nil from the primary.
    var replicaLagSeconds: Double? = nil

    private var forms: FormTexts { FormTexts.of(texts.language) }

    func render() -> String {
        let t = texts
        var html = """
            <!doctype html>
            <html lang="\(t.language.rawValue)"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(t.title(summary.name, year)))</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f5f5;color:#212121}
            header{background:#1565c0;color:#fff;padding:16px 24px}
            header h1{margin:0;font-size:1.4em} header p{margin:4px 0 0}
            header a{color:#fff} .crumbs{list-style:none;margin:0 0 6px;padding:0;display:flex;flex-wrap:wrap;gap:4px;font-size:.9em}
            .crumbs li+li::before{content:"›";margin-right:4px}
            .tools{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin-top:8px}
            .tools select,.tools button{font:inherit;padding:2px 6px}
            a:focus-visible,button:focus-visible,select:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
            main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(340px,100%),1fr));gap:16px;padding:16px 24px}
            .scroll{overflow-x:auto}
            @media (max-width:480px){main{padding:12px 8px} header{padding:12px}}
            section{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
            section.wide{grid-column:1/-1}
            h2{font-size:1.1em;margin:0 0 12px} table{border-collapse:collapse;width:100%}
            th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eee;font-size:.92em} th{color:#616161;font-weight:600}
            .big{font-size:2em;font-weight:700} .muted{color:#616161;font-size:.85em}
            .badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:.82em}
            .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(280px,100%),1fr));gap:16px}
            figure{margin:0} figcaption{font-weight:600;margin-bottom:4px} .legend{margin:4px 0;font-size:.85em}
            .lag{margin:16px 24px 0;padding:10px 14px;background:#fff8e1;border-left:6px solid #f9a825;border-radius:4px}
            .saved{margin:16px 24px 0;padding:10px 14px;background:#e8f5e9;border-left:6px solid #2e7d32;border-radius:4px}
            @page{size:A4;margin:12mm}
            @media print{body{background:#fff;font-size:10pt} header{background:none;color:#000;padding:0 0 8px}
            header a{color:#000} .tools,.downloads,.actions{display:none} main{display:block;padding:0}
            section{box-shadow:none;border:1px solid #ccc;margin-bottom:8px;break-inside:avoid} .scroll{overflow:visible}
            .badge{border:1px solid #000}}
            </style></head><body>
            <header>\(breadcrumb())<h1>\(escapeHTML(summary.name))</h1>
            <p>\(escapeHTML(t.unitLine(t.levels[summary.level] ?? summary.level, summary.unit, year)))</p>
            <div class="tools">\(yearSelector())\(languageSwitch())</div></header>
            \(saved.map { "<p class=\"saved\" role=\"status\">\(escapeHTML(forms.saved[$0] ?? ""))</p>" } ?? "")
            \(lagNote())
            <main>
            """
        html += coverageSection()
        html += actionsSection()
        html += childrenSection()
        html += TrendCharts(months: trends, year: year, texts: TrendTexts.of(texts.language)).render()
        html += groupsSection()
        html += overdueLoansSection()
        html += loansToCheckSection()
        html += loansSection()
        html += sessionsSection()
        html += activitySection()
        html += """
            </main>
            <p class="muted" style="padding:0 24px 24px">\(escapeHTML(t.computedAt(updatedAt())))</p>
            </body></html>
            """
        return html
    }

    /// Figures a second or more behind say so: a reader must not take them for this minute's.
    private func lagNote() -> String {
        guard let seconds = replicaLagSeconds.map({ Int($0.rounded()) }), seconds >= 1 else { return "" }
        return "<p class=\"lag\" role=\"status\">\(escapeHTML(texts.replicaLag(seconds)))</p>"
    }

    /// The way back up: every unit from the viewer's own down to this one, each a link but the last.
    private func breadcrumb() -> String {
        guard path.steps.count > 1 else { return "" }
        var html = "<nav aria-label=\"\(texts.breadcrumb)\"><ol class=\"crumbs\">"
        for step in path.steps.dropLast() {
            html += "<li><a href=\"\(Self.link(step.code, year: year))\">\(escapeHTML(step.name))</a></li>"
        }
        return html + "<li aria-current=\"page\">\(escapeHTML(summary.name))</li></ol></nav>"
    }

    /// A plain form: works without scripts.
    private func yearSelector() -> String {
        let years = Set((thisYear - 5...thisYear)).union([year]).sorted(by: >)
        var html = "<form class=\"year\" method=\"get\" action=\"/dashboard/\(escapeHTML(summary.unit))\"><label for=\"year\">\(texts.year)</label> <select id=\"year\" name=\"year\">"
        for option in years { html += "<option value=\"\(option)\"\(option == year ? " selected" : "")>\(option)</option>" }
        return html + "</select> <button type=\"submit\">\(texts.show)</button></form>"
    }

    /// The same page in the other language; the choice is remembered in a cookie.
    private func languageSwitch() -> String {
        let other: PageLanguage = texts.language == .vi ? .en : .vi
        return "<a href=\"\(Self.link(summary.unit, year: year))&amp;lang=\(other.rawValue)\" lang=\"\(other.rawValue)\" hreflang=\"\(other.rawValue)\">\(texts.switchLabel)</a>"
    }

    /// The dashboard of `code` for `year`.
    static func link(_ code: String, year: Int) -> String {
        "\(path(code))?year=\(year)"
    }

    /// `/dashboard/{code}`, escaped for a URL path and for HTML: the base of the unit's pages.
    static func path(_ code: String) -> String {
        "/dashboard/\(escapeHTML(code.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? code))"
    }

    private func updatedAt() -> String {
        guard let date = summary.updatedAt ?? figures?.coverage?.updatedAt else { return texts.notComputed }
        let local = WallTime(date)
        return texts.time(local.hour, local.minute, local.day)
    }

    private func badge(_ status: String?, _ percentage: Double?) -> String {
        let label = texts.statuses[status ?? ""] ?? texts.statuses[""] ?? ""
        return "<span class=\"badge\" style=\"\(Self.badgeStyle(Palette.coverage(status: status, percentage: percentage)))\">\(label)</span>"
    }

    private func percent(_ value: Double?, digits: Int) -> String {
        value.map { String(format: "%.\(digits)f%%", $0) } ?? "—"
    }

    private func coverageSection() -> String {
        let t = texts
        guard let coverage = figures?.coverage else {
            return "<section><h2>\(t.coverageTitle(year))</h2><p>\(t.noFigures)</p></section>"
        }
        let share = percent(coverage.percentage, digits: 1)
        let colour = Palette.coverage(status: coverage.status, percentage: coverage.percentage)
        var html = """
            <section><h2>\(t.coverageTitle(year))</h2>
            <p>\(escapeHTML(t.rules[coverage.rule] ?? coverage.rule))</p>
            <p><span class="big">\(coverage.done)/\(coverage.required)</span> \(t.meetTheRule(share)) \(badge(coverage.status, coverage.percentage))</p>
            \(Self.bar(fraction: coverage.percentage.map { $0 / 100 }, colour: colour, label: t.shareMeeting(share)))
            """
        if coverage.notApplicable > 0 {
            html += "<p class=\"muted\">\(t.notApplicable(coverage.notApplicable))</p>"
        }
        if !coverage.missing.isEmpty {
            let names = Dictionary(figures?.items.map { ($0.code, $0.name) } ?? [], uniquingKeysWith: { a, _ in a })
            html += "<p><strong>\(t.missing)</strong> " + coverage.missing.prefix(30).map { escapeHTML(names[$0] ?? $0) }.joined(separator: ", ")
                + (coverage.missing.count > 30 ? t.andMore(coverage.missing.count - 30) : "") + "</p>"
        }
        html += "<p class=\"muted\">\(t.subtreeCompliant(coverage.subtreeCompliant, coverage.subtreeUnits))</p></section>"
        return html
    }

    private func childrenSection() -> String {
        guard let children = figures?.children, !children.isEmpty else { return "" }
        let downloads = "\(Self.path(summary.unit))/children"
        var html = """
            <section class="wide"><h2>\(texts.childrenTitle)</h2>
            <p class="downloads">\(texts.download): <a href="\(downloads).xlsx?year=\(year)&amp;lang=\(texts.language.rawValue)" download>.xlsx</a> · \
            <a href="\(downloads).csv?year=\(year)&amp;lang=\(texts.language.rawValue)" download>.csv</a></p>
            <div class="scroll"><table>\(Self.head(texts.childrenColumns))<tbody>
            """
        for child in children {
            let coverage = child.coverage
            let share = percent(coverage?.percentage, digits: 0)
            let missing = coverage.map { $0.missing.isEmpty ? "—" : $0.missing.prefix(5).joined(separator: ", ") + ($0.missing.count > 5 ? "…" : "") } ?? "—"
            let ratio = child.loans?.overdueRatio
            let colour = Palette.coverage(status: coverage?.status, percentage: coverage?.percentage)
            html += """
                <tr><th scope="row"><a href="\(Self.link(child.code, year: year))">\(escapeHTML(child.name))</a></th>
                <td>\(badge(coverage?.status, coverage?.percentage)) \(coverage.map { "\($0.done)/\($0.required)" } ?? "")</td>
                <td>\(Self.bar(fraction: coverage?.percentage.map { $0 / 100 }, colour: colour, label: share, width: 120))</td>
                <td>\(escapeHTML(missing))</td>
                <td><span class="badge" style="\(Self.badgeStyle(Palette.overdue(ratio: ratio)))">\(percent(ratio.map { $0 * 100 }, digits: 2))</span></td></tr>
                """
        }
        return html + "</tbody></table></div></section>"
    }

    private func actionsSection() -> String {
        let base = Self.path(summary.unit)
        let links = ActionList.allCases.map { list in
            "<li><a href=\"\(base)/\(list.rawValue)?year=\(year)\">\(escapeHTML(texts.actionTitles[list.rawValue] ?? list.rawValue))</a></li>"
        }
        return "<section class=\"actions\"><h2>\(texts.actionsTitle)</h2><ul>\(links.joined())</ul></section>"
    }

    private func groupsSection() -> String {
        guard let groups = commune?.groups, !groups.isEmpty else { return "" }
        let t = texts
        var html = "<section class=\"wide\"><h2>\(t.groupsTitle)</h2><div class=\"scroll\"><table>\(Self.head(t.groupColumns))<tbody>"
        for group in groups {
            var needs = "—"
            if let required = group.required, let done = group.done {
                let missing = max(required - done, 0)
                needs = "\(badge(group.status, nil)) \(done)/\(required) · " + escapeHTML(missing == 0 ? t.nothingNeeded : t.stillNeeds(missing))
            }
            html += """
                <tr><th scope="row">\(escapeHTML(group.name)) <span class="muted">\(escapeHTML(group.code))</span></th>
                <td>\(escapeHTML(group.leader.isEmpty ? "—" : group.leader))</td><td>\(escapeHTML(group.point))</td>
                <td>\(t.number(group.borrowers))</td><td>\(group.lastInspection.map(t.date) ?? "—")</td><td>\(needs)</td></tr>
                """
        }
        return html + "</tbody></table></div></section>"
    }

    private func overdueLoansSection() -> String {
        guard let commune, !commune.overdueLoans.isEmpty else { return "" }
        let t = texts
        var html = "<section class=\"wide\"><h2>\(t.overdueLoansTitle)</h2><div class=\"scroll\"><table>\(Self.head(withAction(t.overdueLoanColumns)))<tbody>"
        for loan in commune.overdueLoans {
            let status = t.loanStatuses[loan.status].flatMap { $0.isEmpty ? nil : " · \($0)" } ?? ""
            var outcome = loan.outcome.flatMap { t.outcomes[$0] } ?? t.noOutcome
            if let promised = loan.promisedOn { outcome += " " + t.promisedBy(t.date(promised)) }
            if !loan.note.isEmpty { outcome += " — " + loan.note }
            html += """
                <tr><th scope="row">\(escapeHTML(loan.code))</th><td>\(escapeHTML(loan.borrower))</td><td>\(escapeHTML(loan.group))</td>
                <td>\(t.money(loan.outstanding))</td><td>\(t.daysOverdue(loan.daysOverdue)) (\(t.date(loan.dueOn)))\(escapeHTML(status))</td>
                <td>\(loan.step.map(t.step) ?? "—")</td><td>\(escapeHTML(outcome))</td>\(actionCell(.followup, link: loan.followupID.map { RecordRoutes.path(.followup, unit: summary.unit, id: String($0)) }, about: loan.code))</tr>
                """
        }
        html += "</tbody></table></div>"
        if commune.moreOverdue { html += "<p class=\"muted\">\(t.moreOverdue(CommuneDetails.overdueListed))</p>" }
        return html + "</section>"
    }

    private func loansSection() -> String {
        let t = texts
        guard let loans = summary.loans else { return "<section><h2>\(t.loansShortTitle)</h2><p>\(t.noFigures)</p></section>" }
        let ratio = percent(loans.overdueRatio.map { $0 * 100 }, digits: 2)
        let savings = percent(loans.savingsParticipation.map { $0 * 100 }, digits: 0)
        return """
            <section><h2>\(t.loansTitle)</h2>
            <div class="scroll"><table>
            \(Self.row(t.loanCount, t.number(loans.loans)))
            \(Self.row(t.outstanding, t.money(loans.outstanding)))
            \(Self.row(t.overdue, t.overdueValue(t.number(loans.overdueLoans), t.money(loans.overdueAmount))))
            \(Self.row(t.overdueRatio, "<span class=\"badge\" style=\"\(Self.badgeStyle(Palette.overdue(ratio: loans.overdueRatio)))\">\(ratio)</span>"))
            \(Self.row(t.savers, "\(t.number(loans.savers))/\(t.number(loans.members)) (\(savings))"))
            </table></div>
            \(Self.bar(fraction: loans.savingsParticipation, colour: Palette.green, label: t.savingsShare(savings)))
            </section>
            """
    }

    private func sessionsSection() -> String {
        var html = "<section><h2>\(texts.sessionsTitle)</h2>"
        if summary.nextSessions.isEmpty { return html + "<p>\(texts.none)</p></section>" }
        html += "<div class=\"scroll\"><table>\(Self.head(withAction(texts.sessionColumns)))<tbody>"
        for session in summary.nextSessions {
            let day = CalendarDate(iso: session.date).map(texts.date) ?? session.date
            let form = session.month.map { "\(RecordRoutes.path(.session, unit: session.communeCode ?? "", id: session.point))?month=\($0)" }
            html += "<tr><td>\(day)</td><td>\(escapeHTML(session.time))</td><td>\(escapeHTML(session.commune))</td><td>\(escapeHTML(session.location))</td>"
                + actionCell(.session, link: session.communeCode == nil ? nil : form, about: "\(session.point) \(session.date)") + "</tr>"
        }
        return html + "</tbody></table></div></section>"
    }

    private func activitySection() -> String {
        let t = texts
        return """
            <section><h2>\(t.activityTitle)</h2>
            <div class="scroll"><table>
            \(Self.row(t.openFollowups, "\(summary.openFollowups)"))
            \(Self.row(t.openReports, t.openReportsValue(summary.reports.open, summary.reports.late)))
            \(Self.row(t.submittedThisYear, "\(summary.reports.submittedThisYear)"))
            \(Self.row(t.remindersSent, "\(summary.remindersSent30Days)"))
            \(Self.row(t.remindersFailed, "\(summary.remindersFailed30Days)"))
            \(Self.row(t.remindersExpired, "\(summary.remindersExpired30Days)"))
            \(Self.row(t.remindersLate, "\(summary.remindersLate30Days)"))
            \(Self.row(t.remindersOptedOut, "\(summary.remindersOptedOut30Days)"))
            </table></div>\(openReportsTable())</section>
            """
    }

    private func openReportsTable() -> String {
        guard !summary.openReports.isEmpty else { return "" }
        var html = "<h2 style=\"margin-top:16px\">\(texts.reportsTitle)</h2><div class=\"scroll\"><table>\(Self.head(withAction(texts.reportColumns)))<tbody>"
        for report in summary.openReports {
            let due = CalendarDate(iso: report.due).map(texts.date) ?? report.due
            let late = report.daysLate > 0
                ? "<span class=\"badge\" style=\"\(Self.badgeStyle(Palette.red))\">\(texts.daysLate(report.daysLate))</span>" : ""
            let form = report.id.flatMap { id in report.unitCode.map { RecordRoutes.path(.report, unit: $0, id: String(id)) } }
            html += "<tr><td>\(escapeHTML(report.report)) (\(escapeHTML(report.period)))</td><td>\(escapeHTML(report.unit))</td><td>\(due)</td><td>\(late)</td>"
                + actionCell(.report, link: form, about: "\(report.report) \(report.unit) \(report.period)") + "</tr>"
        }
        return html + "</tbody></table></div>"
    }

    private func loansToCheckSection() -> String {
        guard let commune, !commune.loansToCheck.isEmpty else { return "" }
        let t = texts, f = forms
        var html = """
            <section class="wide"><h2>\(escapeHTML(f.loansToCheckTitle))</h2><p class="muted">\(escapeHTML(f.loansToCheckNote(commune.checkAfterDays)))</p>
            <div class="scroll"><table>\(Self.head(withAction(Array(f.loansToCheckColumns.dropLast()))))<tbody>
            """
        for loan in commune.loansToCheck {
            html += """
                <tr><th scope="row">\(escapeHTML(loan.code))</th><td>\(escapeHTML(loan.borrower))</td><td>\(escapeHTML(loan.group))</td>
                <td>\(escapeHTML(loan.program))</td><td>\(t.date(loan.disbursedOn))</td>\(actionCell(.loanCheck, unit: summary.unit, id: loan.code))</tr>
                """
        }
        return html + "</tbody></table></div></section>"
    }

    /// A table's columns, with the column of the forms' links for those who may write.
    private func withAction(_ columns: [String]) -> [String] {
        canWrite ? columns + [forms.actionColumn] : columns
    }

    /// The cell that opens the form of `kind` for record `id` of `unit` (empty without one); none for readers.
    private func actionCell(_ kind: RecordKind, unit: String, id: String?) -> String {
        actionCell(kind, link: id.map { RecordRoutes.path(kind, unit: unit, id: $0) }, about: id ?? "")
    }

    private func actionCell(_ kind: RecordKind, link: String?, about: String) -> String {
        guard canWrite else { return "" }
        guard let link else { return "<td></td>" }
        let label = forms.actions[kind] ?? kind.rawValue
        return "<td class=\"write\"><a href=\"\(link)\" aria-label=\"\(escapeHTML("\(label): \(about)"))\">\(escapeHTML(label))</a></td>"
    }

    /// A header row of column names.
    static func head(_ columns: [String]) -> String {
        "<thead><tr>" + columns.map { "<th scope=\"col\">\(escapeHTML($0))</th>" }.joined() + "</tr></thead>"
    }

    /// A row named by its header cell; `value` is HTML already.
    static func row(_ label: String, _ value: String) -> String {
        "<tr><th scope=\"row\">\(escapeHTML(label))</th><td>\(value)</td></tr>"
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

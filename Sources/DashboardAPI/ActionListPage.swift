import CreditDomain
import Foundation

/// One action list as a page: sortable by any column (links, no scripts), each row linking to
/// where it is dealt with, with its downloads.
struct ActionListPage {
    let list: ActionList
    let rows: ActionList.Rows
    let unit: String
    let unitName: String
    let year: Int
    let sort: Int?
    let descending: Bool
    let texts: DashboardTexts

    func render() -> String {
        let t = texts
        let title = t.actionTitles[list.rawValue] ?? list.rawValue
        let base = "\(DashboardPage.path(unit))/\(list.rawValue)"
        var html = """
            <!doctype html>
            <html lang="\(t.language.rawValue)"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(title)) — \(escapeHTML(unitName))</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f5f5;color:#212121}
            header{background:#1565c0;color:#fff;padding:16px 24px} header a{color:#fff} header h1{margin:4px 0 0;font-size:1.3em}
            main{padding:16px 24px} section{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
            .scroll{overflow-x:auto} table{border-collapse:collapse;width:100%}
            th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eee;font-size:.92em} th{color:#616161;font-weight:600}
            th a{color:inherit} .muted{color:#616161;font-size:.85em}
            a:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
            @media (max-width:480px){main{padding:12px 8px} header{padding:12px}}
            </style></head><body>
            <header><a href="\(DashboardPage.link(unit, year: year))">\(escapeHTML(t.backTo(unitName)))</a>
            <h1>\(escapeHTML(title)) — \(escapeHTML(unitName)) · \(year)</h1></header>
            <main><section>
            <p>\(t.download): <a href="\(base).xlsx?year=\(year)&amp;lang=\(t.language.rawValue)" download>.xlsx</a> · \
            <a href="\(base).csv?year=\(year)&amp;lang=\(t.language.rawValue)" download>.csv</a></p>
            """
        if rows.table.rows.isEmpty {
            return html + "<p>\(t.nothingToDo)</p></section></main></body></html>"
        }
        html += "<div class=\"scroll\"><table><thead><tr>"
        for (index, column) in rows.table.columns.enumerated() {
            let sorted = sort == index
            let next = sorted && !descending ? "&amp;desc=1" : ""
            let state = sorted ? " aria-sort=\"\(descending ? "descending" : "ascending")\"" : ""
            let arrow = sorted ? (descending ? " ▼" : " ▲") : ""
            html += "<th scope=\"col\"\(state)><a href=\"\(base)?year=\(year)&amp;sort=\(index)\(next)\">\(escapeHTML(column))\(arrow)</a></th>"
        }
        html += "<th scope=\"col\"><span class=\"muted\">\(t.open)</span></th></tr></thead><tbody>"
        for (row, link) in zip(rows.table.rows, rows.links) {
            html += "<tr>" + row.map { "<td>\(cell($0))</td>" }.joined() + "<td><a href=\"\(link)\">\(t.open)</a></td></tr>"
        }
        html += "</tbody></table></div>"
        if rows.table.rows.count >= ActionList.limit { html += "<p class=\"muted\">\(t.listLimit(ActionList.limit))</p>" }
        return html + "</section></main></body></html>"
    }

    private func cell(_ cell: ExportTable.Cell) -> String {
        switch cell {
        case .text(let text): escapeHTML(text)
        case .integer(let value): texts.number(value)
        case .percent(let fraction): String(format: "%.2f%%", fraction * 100)
        case .date(let day): texts.date(day)
        case .empty: "—"
        }
    }
}

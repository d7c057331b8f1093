import CreditWorkers
import Foundation

/// A unit's figures month by month, this year against last, as inline SVG line charts drawn on
/// the server (no scripts), each with its figures in a table for those who cannot see it.
struct TrendCharts {
    let months: [UnitSnapshots.Month]
    let year: Int
    let texts: TrendTexts

    private struct Chart {
        var title: String
        var value: (UnitSnapshots.Month) -> Double?
        /// The top of the scale is at least this share.
        var minimumTop: Double
        var digits: Int
    }

    func render() -> String {
        let t = texts
        var html = "<section class=\"wide trends\"><h2>\(escapeHTML(t.title))</h2>"
        guard !months.isEmpty else { return html + "<p>\(escapeHTML(t.noHistory))</p></section>" }
        let charts = [
            Chart(title: t.coverage, value: \.coverageShare, minimumTop: 1, digits: 0),
            Chart(title: t.overdue, value: \.overdueRatio, minimumTop: 0.005, digits: 2),
            Chart(title: t.savings, value: \.savingsParticipation, minimumTop: 1, digits: 0),
        ]
        html += "<div class=\"charts\">"
        for chart in charts { html += render(chart) }
        return html + "</div></section>"
    }

    private func series(_ chart: Chart, _ year: Int) -> [(month: Int, value: Double)] {
        months.filter { $0.year == year }.compactMap { month in chart.value(month).map { (month.month, $0) } }.sorted { $0.month < $1.month }
    }

    private func percent(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f%%", value * 100)
    }

    private func render(_ chart: Chart) -> String {
        let (width, height, left, right, top, bottom) = (320.0, 170.0, 44.0, 8.0, 10.0, 24.0)
        let this = series(chart, year), last = series(chart, year - 1)
        let highest = (this + last).map(\.value).max() ?? 0
        let scaleTop = Self.niceTop(max(highest, chart.minimumTop))
        func x(_ month: Int) -> Double { left + (width - left - right) * Double(month - 1) / 11 }
        func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - min(value / scaleTop, 1)) }
        let label = texts.summary(chart.title, year, this.last.map { percent($0.value, chart.digits) },
                                  year - 1, last.last.map { percent($0.value, chart.digits) })
        var svg = """
            <figure><figcaption>\(escapeHTML(chart.title))</figcaption>
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" width="100%" role="img" aria-label="\(escapeHTML(label))">
            """
        for step in 0...2 {
            let value = scaleTop * Double(step) / 2
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(value))\" y2=\"\(y(value))\" stroke=\"#e0e0e0\"/>"
            svg += "<text x=\"\(left - 4)\" y=\"\(y(value) + 4)\" text-anchor=\"end\" font-size=\"10\" fill=\"#616161\">\(percent(value, chart.digits == 0 ? 0 : 1))</text>"
        }
        for month in stride(from: 1, through: 12, by: 1) {
            svg += "<text x=\"\(x(month))\" y=\"\(height - 6)\" text-anchor=\"middle\" font-size=\"9\" fill=\"#616161\">\(escapeHTML(texts.monthLabel(month)))</text>"
        }
        func line(_ points: [(month: Int, value: Double)], _ colour: String, dashed: Bool, _ name: String) -> String {
            guard !points.isEmpty else { return "" }
            let coordinates = points.map { String(format: "%.1f,%.1f", x($0.month), y($0.value)) }.joined(separator: " ")
            var text = "<polyline class=\"\(name)\" points=\"\(coordinates)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.5\"\(dashed ? " stroke-dasharray=\"5 4\"" : "")/>"
            for point in points {
                text += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>", x(point.month), y(point.value), colour)
            }
            return text
        }
        svg += line(last, "#757575", dashed: true, "last-year")
        svg += line(this, "#1565c0", dashed: false, "this-year")
        svg += "</svg>"
        svg += """
            <p class="legend"><span style="color:#1565c0">━ \(year)</span> <span style="color:#616161">╍ \(year - 1)</span></p>
            <details><summary>\(escapeHTML(texts.data))</summary><div class="scroll"><table>\
            <thead><tr><th scope="col">\(escapeHTML(texts.month))</th><th scope="col">\(year)</th><th scope="col">\(year - 1)</th></tr></thead><tbody>
            """
        let thisByMonth = Dictionary(this.map { ($0.month, $0.value) }, uniquingKeysWith: { a, _ in a })
        let lastByMonth = Dictionary(last.map { ($0.month, $0.value) }, uniquingKeysWith: { a, _ in a })
        for month in 1...12 where thisByMonth[month] != nil || lastByMonth[month] != nil {
            svg += "<tr><th scope=\"row\">\(escapeHTML(texts.monthLabel(month)))</th><td>\(thisByMonth[month].map { percent($0, chart.digits) } ?? "—")</td>"
                + "<td>\(lastByMonth[month].map { percent($0, chart.digits) } ?? "—")</td></tr>"
        }
        return svg + "</tbody></table></div></details></figure>"
    }

    /// The top of the scale: the next of 1, 2, 5 × a power of ten at or above `value` (shares, ≤ 1).
    static func niceTop(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for factor in [1.0, 2, 5, 10] where factor * power >= value - 1e-12 { return min(factor * power, 1) }
        return 1
    }
}

import CreditDomain
import Foundation
import JobQueue

/// `/ops`'s charts: per queue, the jobs completed, failed (to be tried again) and discarded per
/// minute over the last hour and per hour over the last day, as stacked bars in inline SVG drawn
/// on the server; each bar names its figures on hover, each chart its totals for screen readers.
enum OpsCharts {
    private static let colours = (completed: "#2e7d32", failed: "#f9a825", discarded: "#c62828")

    static func section(hour: [OutcomeSeries], day: [OutcomeSeries]) -> String {
        var html = "<h2>Kết quả theo thời gian</h2><div id=\"charts\">"
        html += "<p class=\"legend\"><span style=\"color:\(colours.completed)\">■ hoàn thành</span> "
            + "<span style=\"color:#8d6e00\">■ lỗi, sẽ thử lại</span> <span style=\"color:\(colours.discarded)\">■ bị loại</span></p>"
        let queues = Set(hour.map(\.queue)).union(day.map(\.queue)).sorted()
        if queues.isEmpty { return html + "<p class=\"muted\">Chưa có công việc nào kết thúc trong 24 giờ qua.</p></div>" }
        let hourly = Dictionary(uniqueKeysWithValues: hour.map { ($0.queue, $0) })
        let daily = Dictionary(uniqueKeysWithValues: day.map { ($0.queue, $0) })
        html += "<div class=\"charts\">"
        for queue in queues {
            html += "<div class=\"chart-row\"><h3>\(escapeHTML(queue))</h3>"
            html += hourly[queue].map { chart($0, caption: "60 phút qua, từng phút") } ?? "<p class=\"muted\">Không có gì trong 60 phút qua.</p>"
            html += daily[queue].map { chart($0, caption: "24 giờ qua, từng giờ") } ?? ""
            html += "</div>"
        }
        return html + "</div></div>"
    }

    static func chart(_ series: OutcomeSeries, caption: String) -> String {
        let (width, height, left, bottom, top) = (360.0, 110.0, 34.0, 18.0, 6.0)
        let totals = series.completed.indices.map { series.completed[$0] + series.failed[$0] + series.discarded[$0] }
        let scaleTop = Double(niceTop(totals.max() ?? 0))
        let slot = (width - left) / Double(series.span.buckets)
        func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - value / scaleTop) }
        let sums = (series.completed.reduce(0, +), series.failed.reduce(0, +), series.discarded.reduce(0, +))
        let label = "Hàng đợi \(series.queue), \(caption): \(sums.0) hoàn thành, \(sums.1) lỗi sẽ thử lại, \(sums.2) bị loại"
        let grouped = (VietnameseFormat.grouped(sums.0), VietnameseFormat.grouped(sums.1), VietnameseFormat.grouped(sums.2))
        var svg = "<figure><figcaption>\(escapeHTML(caption)): <strong>\(grouped.0)</strong> hoàn thành · <strong>\(grouped.1)</strong> lỗi · "
            + "<strong>\(grouped.2)</strong> bị loại</figcaption>"
            + "<svg class=\"outcomes\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"\(escapeHTML(label))\">"
        for value in [0, scaleTop / 2, scaleTop] {
            svg += "<line x1=\"\(number(left))\" x2=\"\(number(width))\" y1=\"\(number(y(value)))\" y2=\"\(number(y(value)))\" stroke=\"#e0e0e0\"/>"
            svg += "<text x=\"\(number(left - 3))\" y=\"\(number(y(value) + 3))\" text-anchor=\"end\" font-size=\"9\" fill=\"#616161\">\(VietnameseFormat.grouped(Int(value)))</text>"
        }
        let labelEvery = series.span == .lastHour ? 15 : 6
        for index in 0..<series.span.buckets {
            let start = series.start.addingTimeInterval(Double(index * series.span.bucketSeconds))
            let x = left + Double(index) * slot
            var base = 0.0
            var bar = ""
            for (value, colour) in [(series.completed[index], colours.completed), (series.failed[index], colours.failed),
                                    (series.discarded[index], colours.discarded)] where value > 0 {
                let y0 = y(base), y1 = y(base + Double(value))
                bar += "<rect x=\"\(number(x + 0.5))\" y=\"\(number(y1))\" width=\"\(number(max(slot - 1, 0.5)))\" height=\"\(number(y0 - y1))\" fill=\"\(colour)\"/>"
                base += Double(value)
            }
            if !bar.isEmpty {
                let tip = "\(WallTime(start).hoursAndMinutes): \(series.completed[index]) hoàn thành, \(series.failed[index]) lỗi, \(series.discarded[index]) bị loại"
                svg += "<g><title>\(escapeHTML(tip))</title>\(bar)</g>"
            }
            if index % labelEvery == 0 {
                svg += "<text x=\"\(number(x))\" y=\"\(number(height - 5))\" font-size=\"9\" fill=\"#616161\">\(WallTime(start).hoursAndMinutes)</text>"
            }
        }
        return svg + "</svg></figure>"
    }

    /// One decimal at most, for coordinates (`String(format:)` cost the page a sixth of its time).
    static func number(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// The smallest of 1, 2, 5 × 10ⁿ at or above `value` (at least 2, so the middle line is whole).
    static func niceTop(_ value: Int) -> Int {
        var magnitude = 1
        for _ in 0..<18 {
            for step in [1, 2, 5] where step * magnitude >= max(value, 2) { return step * magnitude }
            magnitude *= 10
        }
        return value
    }
}

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
            svg += String(format: "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>", left, width, y(value), y(value))
            svg += String(format: "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"9\" fill=\"#616161\">%@</text>",
                          left - 3, y(value) + 3, VietnameseFormat.grouped(Int(value)))
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
                bar += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>",
                              x + 0.5, y1, max(slot - 1, 0.5), y0 - y1, colour)
                base += Double(value)
            }
            if !bar.isEmpty {
                let tip = "\(clock(start)): \(series.completed[index]) hoàn thành, \(series.failed[index]) lỗi, \(series.discarded[index]) bị loại"
                svg += "<g><title>\(escapeHTML(tip))</title>\(bar)</g>"
            }
            if index % labelEvery == 0 {
                svg += String(format: "<text x=\"%.1f\" y=\"%.0f\" font-size=\"9\" fill=\"#616161\">%@</text>", x, height - 5, clock(start))
            }
        }
        return svg + "</svg></figure>"
    }

    /// Hours and minutes in Vietnam's time (UTC+7, no daylight saving).
    static func clock(_ date: Date) -> String {
        let seconds = (Int(date.timeIntervalSince1970.rounded(.down)) + CalendarDate.vietnamOffsetSeconds) % 86_400
        return String(format: "%02d:%02d", seconds / 3600, seconds % 3600 / 60)
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

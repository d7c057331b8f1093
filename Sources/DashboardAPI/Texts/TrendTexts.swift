/// The labels of the trend charts, one catalogue per language like ``DashboardTexts``.
struct TrendTexts: Sendable {
    var title: String
    var coverage: String
    var overdue: String
    var savings: String
    var noHistory: String
    var data: String
    var month: String
    var monthLabel: @Sendable (Int) -> String
    /// What a chart shows, for those who cannot see it.
    var summary: @Sendable (_ chart: String, _ year: Int, _ last: String?, _ previousYear: Int, _ previousLast: String?) -> String

    static func of(_ language: PageLanguage) -> TrendTexts { language == .en ? .english : .vietnamese }

    static let vietnamese = TrendTexts(
        title: "Diễn biến theo tháng",
        coverage: "Tỷ lệ kiểm tra đạt yêu cầu",
        overdue: "Tỷ lệ nợ quá hạn",
        savings: "Tỷ lệ thành viên gửi tiết kiệm",
        noHistory: "Chưa có số liệu các tháng trước.",
        data: "Bảng số liệu",
        month: "Tháng",
        monthLabel: { "T\($0)" },
        summary: { chart, year, last, previousYear, previousLast in
            "\(chart): năm \(year) " + (last.map { "gần nhất \($0)" } ?? "chưa có số liệu")
                + "; năm \(previousYear) " + (previousLast.map { "cuối kỳ \($0)" } ?? "chưa có số liệu")
        }
    )

    static let english = TrendTexts(
        title: "Month by month",
        coverage: "Inspection coverage met",
        overdue: "Overdue ratio",
        savings: "Members who save",
        noHistory: "No figures of earlier months yet.",
        data: "The figures",
        month: "Month",
        monthLabel: { ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][($0 - 1) % 12] },
        summary: { chart, year, last, previousYear, previousLast in
            "\(chart): \(year) " + (last.map { "latest \($0)" } ?? "no figures")
                + "; \(previousYear) " + (previousLast.map { "last \($0)" } ?? "no figures")
        }
    )
}

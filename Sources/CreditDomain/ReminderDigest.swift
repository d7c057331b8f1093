/// One message listing several reminders of one kind to one unit's contact on one day (a commune
/// contact with twelve overdue loans gets one text, not twelve). The first items are listed, the
/// rest counted ("và 7 khoản khác"); the full list is on the dashboard.
extension ReminderTexts {
    /// What a digest is about, and what its recipient is asked to do.
    public enum DigestTopic: Sendable, Equatable {
        case sessions
        case overdue(OverdueRecipient)
        case loanChecks
        /// `forReceiver`: the unit a late report goes to, asked to chase it.
        case reports(forReceiver: Bool)
    }

    public static func digest(sender: String, topic: DigestTopic, lines: [String], maxItems: Int, late: Bool = false) -> String {
        let shown = lines.prefix(max(1, maxItems))
        let rest = lines.count - shown.count
        let list = shown.enumerated().map { "\($0.offset + 1)) \($0.element)" }.joined(separator: "; ")
            + (rest > 0 ? "; và \(rest) khoản khác" : "")
        let (heading, ask): (String, String) = switch topic {
        case .sessions:
            ("\(lines.count) phiên giao dịch", "Đề nghị phối hợp tổ chức giao ban định kỳ cùng các phiên giao dịch.")
        case .overdue(let recipient):
            ("\(lines.count) khoản vay quá hạn cần đôn đốc", overdueAsk(recipient))
        case .loanChecks:
            ("\(lines.count) khoản vay chưa được kiểm tra sử dụng vốn", "Đề nghị kiểm tra trước hạn đã ghi.")
        case .reports(let forReceiver):
            ("\(lines.count) báo cáo cần nộp", forReceiver ? "Đề nghị đơn vị nhận báo cáo đôn đốc." : "Đề nghị nộp đúng hạn.")
        }
        return "\(from(sender, late: late)): \(heading): \(list). \(ask) Chi tiết trên trang theo dõi."
    }

    private static func overdueAsk(_ recipient: OverdueRecipient) -> String {
        switch recipient {
        case .groupLeader: "Đề nghị tổ trưởng đến gặp các hộ vay, đôn đốc trả nợ và báo kết quả."
        case .communeUnion: "Đề nghị phối hợp với tổ trưởng đôn đốc các hộ vay trả nợ và ghi nhận kết quả."
        case .parentUnit: "Đề nghị chỉ đạo cơ sở đôn đốc thu hồi nợ quá hạn."
        }
    }

    /// A session in a digest: `thứ Năm, 17/12/2026 lúc 7 giờ 30 tại Trụ sở UBND xã (xã Thái Bình)`.
    public static func sessionDigestLine(communePlace: String, location: String, time: String, date: CalendarDate) -> String {
        let place = location.isEmpty ? "điểm giao dịch \(communePlace)" : "\(location) (\(communePlace))"
        return "\(date.vietnameseWithWeekday) lúc \(VietnameseFormat.clock(time)) tại \(place)"
    }

    public static func overdueDigestLine(loanCode: String, borrowerName: String, groupName: String, daysOverdue: Int, outstanding: Int,
                                         late: Bool = false) -> String {
        let overdue = late ? "đã quá hạn" : "quá hạn \(daysOverdue) ngày"
        return "\(loanCode) của hộ \(borrowerName) (\(groupName)) \(overdue), dư nợ \(VietnameseFormat.money(outstanding))"
    }

    public static func loanCheckDigestLine(loanCode: String, borrowerName: String, groupName: String, checkBy: CalendarDate) -> String {
        "\(loanCode) của hộ \(borrowerName) (\(groupName)), kiểm tra trước \(checkBy.vietnamese)"
    }

    public static func reportDigestLine(reportName: String, period: String, unitName: String, dueOn: CalendarDate, daysToDue: Int,
                                        late: Bool = false) -> String {
        let title = reportName.lowercased().hasPrefix("báo cáo") ? reportName : "Báo cáo \"\(reportName)\""
        let when = daysToDue >= 0 || late ? "hạn \(dueOn.vietnamese)" : "hạn \(dueOn.vietnamese), quá hạn \(-daysToDue) ngày"
        return "\(title) (\(periodInWords(period))) của \(unitName), \(when)"
    }

    /// A group leader's reminder sent to the commune contact because the leader has no phone on file.
    public static func forwarded(_ text: String, groupName: String) -> String {
        text + " (Gửi thay tổ trưởng \(groupName): chưa có số điện thoại của tổ trưởng, đề nghị chuyển lời và bổ sung số.)"
    }
}

/// Every text a reminder sends, in one place: Vietnamese with its diacritics, dates dd/MM/yyyy,
/// money as `1.234.567 đồng`. Texts are short enough for an SMS gateway to split sensibly.
public enum ReminderTexts {
    /// The monthly session at a transaction point, to a group leader or the commune contact.
    public static func session(
        forGroupLeader: Bool, groupName: String?, communeName: String, location: String, time: String,
        date: CalendarDate, daysBefore: Int
    ) -> String {
        let when = daysBefore == 1 ? "ngày mai" : "còn \(daysBefore) ngày"
        let place = location.isEmpty ? "điểm giao dịch xã" : location
        if forGroupLeader, let groupName {
            return "NHCSXH: Phiên giao dịch tại \(place) (\(communeName)) lúc \(VietnameseFormat.clock(time)) ngày \(date.vietnamese) (\(when)). "
                + "Đề nghị tổ trưởng \(groupName) thu lãi, tiết kiệm và nhắc tổ viên đến đúng giờ."
        }
        return "NHCSXH: Phiên giao dịch tại \(place) lúc \(VietnameseFormat.clock(time)) ngày \(date.vietnamese) (\(when)). "
            + "Đề nghị Đoàn xã \(communeName) phối hợp tổ chức giao ban định kỳ cùng phiên giao dịch."
    }

    /// One step of the overdue escalation.
    public static func overdue(
        loanCode: String, borrowerName: String, groupName: String, dueOn: CalendarDate, daysOverdue: Int, outstanding: Int
    ) -> String {
        "NHCSXH: Khoản vay \(loanCode) của hộ \(borrowerName) (\(groupName)) đã quá hạn \(daysOverdue) ngày (hạn trả \(dueOn.vietnamese)), "
            + "dư nợ \(VietnameseFormat.money(outstanding)). Đề nghị phối hợp đôn đốc hộ vay trả nợ và ghi nhận kết quả."
    }

    /// A new loan whose use has not been checked yet.
    public static func loanUseCheck(
        loanCode: String, borrowerName: String, groupName: String, principal: Int, disbursedOn: CalendarDate, checkBy: CalendarDate
    ) -> String {
        "NHCSXH: Khoản vay \(loanCode) của hộ \(borrowerName) (\(groupName)), \(VietnameseFormat.money(principal)), giải ngân ngày "
            + "\(disbursedOn.vietnamese), chưa được kiểm tra sử dụng vốn. Đề nghị kiểm tra trước ngày \(checkBy.vietnamese)."
    }

    /// A report deadline ahead (daysToDue ≥ 0) or passed (daysToDue < 0); `forReceiver` when
    /// the receiving unit is told of a late report.
    public static func report(
        reportName: String, period: String, unitName: String, dueOn: CalendarDate, daysToDue: Int, forReceiver: Bool
    ) -> String {
        let subject = "Báo cáo \"\(reportName)\" kỳ \(period) của \(unitName)"
        if daysToDue > 0 {
            return "\(subject) hạn nộp ngày \(dueOn.vietnamese) (còn \(daysToDue) ngày)."
        }
        if daysToDue == 0 {
            return "\(subject) hạn nộp hôm nay, \(dueOn.vietnamese)."
        }
        let late = "\(subject) đã quá hạn \(-daysToDue) ngày (hạn \(dueOn.vietnamese)) và chưa được nộp."
        return forReceiver ? late + " Đề nghị đơn vị nhận báo cáo đôn đốc." : late + " Đề nghị nộp ngay."
    }
}

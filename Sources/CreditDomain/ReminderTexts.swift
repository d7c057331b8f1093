/// Every text a reminder sends, in one place, one template per kind and recipient: Vietnamese
/// with its diacritics, days as `thứ Năm, 03/12/2026`, periods in words (`quý IV/2026`), money
/// as `1.234.567 đồng`, and the sender's name first (`reminder_settings.sender_name`): these
/// come from the Youth Union, not from the bank. `ReminderTextsTests` holds one rendered text of
/// each, compared byte for byte.
///
/// A reminder planned `late` (for a day the leader missed) says "(nhắc muộn)" after the sender and
/// carries no relative day ("ngày mai", "còn 3 ngày", "quá hạn 7 ngày"): those were true on the
/// missed day, not when it arrives; the dates say it.
public enum ReminderTexts {
    static func from(_ sender: String, late: Bool) -> String {
        late ? "\(sender) (nhắc muộn)" : sender
    }

    /// Who receives a session reminder.
    public enum SessionRecipient: Sendable {
        /// A group leader: `groupName` is their group.
        case groupLeader(groupName: String)
        /// The commune union's contact: `communeUnitName` is the union's own name ("Đoàn xã Thái Bình").
        case communeUnion(communeUnitName: String)
    }

    /// The monthly session at a transaction point. `communePlace` is the commune as a place
    /// ("xã Thái Bình"), without the union's "Đoàn".
    public static func session(
        sender: String, recipient: SessionRecipient, communePlace: String, location: String, time: String,
        date: CalendarDate, daysBefore: Int, late: Bool = false
    ) -> String {
        let when = late ? "" : daysBefore == 1 ? " (ngày mai)" : " (còn \(daysBefore) ngày)"
        let place = location.isEmpty ? "điểm giao dịch \(communePlace)" : "\(location) (\(communePlace))"
        let session = "\(from(sender, late: late)): Phiên giao dịch Ngân hàng Chính sách xã hội tại \(place) lúc \(VietnameseFormat.clock(time)), "
            + "\(date.vietnameseWithWeekday)\(when)."
        switch recipient {
        case .groupLeader(let groupName):
            return session + " Đề nghị tổ trưởng \(groupName) thu lãi, tiết kiệm và nhắc tổ viên đến đúng giờ."
        case .communeUnion(let communeUnitName):
            return session + " Đề nghị \(communeUnitName) phối hợp tổ chức giao ban định kỳ cùng phiên giao dịch."
        }
    }

    /// A session moved after its reminders went out: the old day, the new day and time.
    public static func sessionMoved(
        sender: String, communePlace: String, location: String, from oldDate: CalendarDate, to newDate: CalendarDate, time: String
    ) -> String {
        let place = location.isEmpty ? "điểm giao dịch \(communePlace)" : "\(location) (\(communePlace))"
        return "\(sender): Lịch phiên giao dịch thay đổi. Phiên giao dịch Ngân hàng Chính sách xã hội tại \(place) "
            + "chuyển từ \(oldDate.vietnameseWithWeekday) sang \(VietnameseFormat.clock(time)), \(newDate.vietnameseWithWeekday). "
            + "Đề nghị thông báo lại cho tổ viên."
    }

    /// One step of the overdue escalation; the same facts for the group leader, the commune and
    /// the unit above, each asked for what it can do.
    public enum OverdueRecipient: Sendable {
        case groupLeader
        case communeUnion
        case parentUnit
    }

    public static func overdue(
        sender: String, recipient: OverdueRecipient, loanCode: String, borrowerName: String, groupName: String, dueOn: CalendarDate,
        daysOverdue: Int, outstanding: Int, late: Bool = false
    ) -> String {
        let overdue = late ? "đã quá hạn" : "đã quá hạn \(daysOverdue) ngày"
        let facts = "\(from(sender, late: late)): Khoản vay \(loanCode) của hộ \(borrowerName) (\(groupName)) \(overdue) "
            + "(hạn trả \(dueOn.vietnamese)), dư nợ \(VietnameseFormat.money(outstanding))."
        switch recipient {
        case .groupLeader: return facts + " Đề nghị tổ trưởng đến gặp hộ vay, đôn đốc trả nợ và báo kết quả."
        case .communeUnion: return facts + " Đề nghị phối hợp với tổ trưởng đôn đốc hộ vay trả nợ và ghi nhận kết quả."
        case .parentUnit: return facts + " Đề nghị chỉ đạo cơ sở đôn đốc thu hồi nợ quá hạn."
        }
    }

    /// A new loan whose use has not been checked yet, to the group leader or the commune union.
    public static func loanUseCheck(
        sender: String, loanCode: String, borrowerName: String, groupName: String, principal: Int, disbursedOn: CalendarDate,
        checkBy: CalendarDate, late: Bool = false
    ) -> String {
        "\(from(sender, late: late)): Khoản vay \(loanCode) của hộ \(borrowerName) (\(groupName)), \(VietnameseFormat.money(principal)), giải ngân ngày "
            + "\(disbursedOn.vietnamese), chưa được kiểm tra sử dụng vốn. Đề nghị kiểm tra trước \(checkBy.vietnameseWithWeekday)."
    }

    /// A report deadline ahead (`daysToDue` ≥ 0) or passed (< 0). `receiverName` is the unit the
    /// report goes to; `forReceiver` when that unit is told of a late report.
    public static func report(
        sender: String, reportName: String, period: String, unitName: String, receiverName: String?, dueOn: CalendarDate,
        daysToDue: Int, forReceiver: Bool, late: Bool = false
    ) -> String {
        // Types are named "Báo cáo …" already; anything else gets the word once, not twice.
        let title = reportName.lowercased().hasPrefix("báo cáo") ? reportName : "Báo cáo \"\(reportName)\""
        let destination = receiverName.map { " gửi \($0)" } ?? ""
        let subject = "\(from(sender, late: late)): \(title) (\(periodInWords(period))) của \(unitName)\(destination)"
        if daysToDue >= 0 && late {
            return "\(subject) hạn nộp \(dueOn.vietnameseWithWeekday)."
        }
        if daysToDue > 0 {
            return "\(subject) hạn nộp \(dueOn.vietnameseWithWeekday) (còn \(daysToDue) ngày)."
        }
        if daysToDue == 0 {
            return "\(subject) hạn nộp hôm nay, \(dueOn.vietnameseWithWeekday)."
        }
        let overdue = late ? "đã quá hạn" : "đã quá hạn \(-daysToDue) ngày"
        let text = "\(subject) \(overdue) (hạn \(dueOn.vietnamese)) và chưa được nộp."
        return forReceiver ? text + " Đề nghị đơn vị nhận báo cáo đôn đốc." : text + " Đề nghị nộp ngay."
    }

    /// A period as the obligations store it, in words: `2026` → `năm 2026`, `2026-Q4` →
    /// `quý IV/2026`, `2026-03` → `tháng 3/2026`; anything else as it is.
    public static func periodInWords(_ period: String) -> String {
        let parts = period.split(separator: "-")
        guard let year = parts.first.flatMap({ Int($0) }), parts[0].count == 4 else { return period }
        if parts.count == 1 { return "năm \(year)" }
        guard parts.count == 2 else { return period }
        if parts[1].hasPrefix("Q"), let quarter = Int(parts[1].dropFirst()), (1...4).contains(quarter) {
            return "quý \(["I", "II", "III", "IV"][quarter - 1])/\(year)"
        }
        if let month = Int(parts[1]), (1...12).contains(month) { return "tháng \(month)/\(year)" }
        return period
    }
}

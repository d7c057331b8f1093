import CreditDomain
import CreditWorkers

/// The labels of the staff forms (follow-up outcome, loan-use check, report handed in, session
/// moved), one catalogue per language like ``DashboardTexts``.
struct FormTexts: Sendable {
    var save: String
    var cancel: String
    /// Above a form that was refused: the fields marked below say why.
    var notSaved: String
    var problem: @Sendable (FieldProblem) -> String
    var optional: String
    var titles: [RecordKind: String]
    /// The banner on the page after a write.
    var saved: [RecordKind: String]
    /// The links that open each form from a table row.
    var actions: [RecordKind: String]
    var labels: [String: String]
    var hints: [String: String]
    var loansToCheckTitle: String
    var loansToCheckColumns: [String]
    var loansToCheckNote: @Sendable (_ after: Int) -> String
    var reportSubmitted: @Sendable (_ on: String, _ by: String) -> String
    var sessionMoved: @Sendable (_ reason: String) -> String
    var actionColumn: String

    static func of(_ language: PageLanguage) -> FormTexts { language == .en ? .english : .vietnamese }
}

/// The four writes staff make from the dashboard.
enum RecordKind: String, Sendable, CaseIterable {
    case followup, loanCheck = "loan-check", report, session
}

extension FormTexts {
    static let vietnamese = FormTexts(
        save: "Lưu",
        cancel: "Quay lại",
        notSaved: "Chưa lưu được. Hãy sửa các ô có ghi chú màu đỏ.",
        problem: { problem in
            switch problem {
            case .missing: "Ô này không được để trống."
            case .notADate: "Ngày chưa đúng: hãy nhập theo dạng năm-tháng-ngày, ví dụ 2026-12-05."
            case .notAMonth: "Tháng chưa đúng: hãy nhập theo dạng năm-tháng, ví dụ 2026-12."
            case .notATime: "Giờ chưa đúng: hãy nhập theo dạng giờ:phút, ví dụ 07:30."
            case .notAnOption: "Hãy chọn một kết quả trong danh sách."
            case .tooLong(let max): "Nội dung dài quá \(max) ký tự."
            case .onlyWhenPromised: "Chỉ ghi ngày hẹn trả khi kết quả là \"hẹn trả\"."
            case .inTheFuture(let day): "Ngày \(day.vietnamese) chưa đến."
            case .tooFarFromMonth(let month): "Chỉ được dời phiên trong vòng hai tháng quanh tháng \(month.month)/\(month.year)."
            }
        },
        optional: "không bắt buộc",
        titles: [
            .followup: "Ghi kết quả đôn đốc nợ quá hạn", .loanCheck: "Ghi kiểm tra sử dụng vốn vay",
            .report: "Xác nhận đã nộp báo cáo", .session: "Dời phiên giao dịch",
        ],
        saved: [
            .followup: "Đã ghi kết quả đôn đốc.", .loanCheck: "Đã ghi kiểm tra sử dụng vốn.",
            .report: "Đã xác nhận báo cáo đã nộp.", .session: "Đã dời phiên giao dịch.",
        ],
        actions: [.followup: "Ghi kết quả", .loanCheck: "Ghi kiểm tra", .report: "Xác nhận đã nộp", .session: "Dời phiên"],
        labels: [
            "outcome": "Kết quả", "promised_on": "Ngày hẹn trả", "note": "Ghi chú", "on": "Ngày", "by": "Người nộp",
            "month": "Phiên của tháng", "to": "Ngày mới", "time": "Giờ mới", "reason": "Lý do",
            "loan": "Món vay", "borrower": "Hộ vay", "group": "Tổ", "outstanding": "Dư nợ", "due": "Hạn trả", "step": "Bước đôn đốc",
            "program": "Chương trình", "disbursed": "Ngày giải ngân", "checked": "Đã kiểm tra", "report": "Báo cáo", "period": "Kỳ",
            "unit": "Đơn vị", "deadline": "Hạn nộp", "point": "Điểm giao dịch", "place": "Địa điểm", "current": "Lịch hiện tại",
            "checkedOn": "Ngày kiểm tra", "submittedOn": "Ngày nộp",
        ],
        hints: [
            "promised_on": "Chỉ ghi khi kết quả là hẹn trả.", "time": "Để trống nếu giữ giờ thường lệ.",
            "on": "Để trống là hôm nay.",
        ],
        loansToCheckTitle: "Món vay cần kiểm tra sử dụng vốn",
        loansToCheckColumns: ["Món vay", "Hộ vay", "Tổ", "Chương trình", "Ngày giải ngân", ""],
        loansToCheckNote: { "Các món giải ngân trong 90 ngày qua chưa được kiểm tra (nhắc từ ngày thứ \($0))." },
        reportSubmitted: { on, by in "Đã nộp ngày \(on)\(by.isEmpty ? "" : ", người nộp: \(by)")" },
        sessionMoved: { "đã dời: \($0)" },
        actionColumn: "Thao tác"
    )

    static let english = FormTexts(
        save: "Save",
        cancel: "Back",
        notSaved: "Not saved. Please correct the fields marked in red.",
        problem: { problem in
            switch problem {
            case .missing: "This field is required."
            case .notADate: "Not a date: enter year-month-day, e.g. 2026-12-05."
            case .notAMonth: "Not a month: enter year-month, e.g. 2026-12."
            case .notATime: "Not a time: enter hours:minutes, e.g. 07:30."
            case .notAnOption: "Choose one of the outcomes listed."
            case .tooLong(let max): "Longer than \(max) characters."
            case .onlyWhenPromised: "A promised day goes only with the outcome \"promised to pay\"."
            case .inTheFuture(let day): "\(day.iso) has not come yet."
            case .tooFarFromMonth(let month): "A session moves at most two months from \(month.iso.prefix(7))."
            }
        },
        optional: "optional",
        titles: [
            .followup: "Record a follow-up's outcome", .loanCheck: "Record a loan-use check",
            .report: "Mark a report handed in", .session: "Move a transaction session",
        ],
        saved: [
            .followup: "The follow-up's outcome is recorded.", .loanCheck: "The loan-use check is recorded.",
            .report: "The report is marked handed in.", .session: "The session is moved.",
        ],
        actions: [.followup: "Record outcome", .loanCheck: "Record check", .report: "Mark handed in", .session: "Move"],
        labels: [
            "outcome": "Outcome", "promised_on": "Promised payment day", "note": "Note", "on": "Day", "by": "Handed in by",
            "month": "Session of the month", "to": "New day", "time": "New time", "reason": "Reason",
            "loan": "Loan", "borrower": "Borrower", "group": "Group", "outstanding": "Outstanding", "due": "Due", "step": "Follow-up step",
            "program": "Programme", "disbursed": "Disbursed", "checked": "Checked", "report": "Report", "period": "Period",
            "unit": "Unit", "deadline": "Due", "point": "Transaction point", "place": "Place", "current": "Now scheduled",
            "checkedOn": "Day of the check", "submittedOn": "Day handed in",
        ],
        hints: [
            "promised_on": "Only with the outcome \"promised to pay\".", "time": "Leave empty to keep the usual time.",
            "on": "Leave empty for today.",
        ],
        loansToCheckTitle: "Loans awaiting a loan-use check",
        loansToCheckColumns: ["Loan", "Borrower", "Group", "Programme", "Disbursed", ""],
        loansToCheckNote: { "Loans disbursed in the last 90 days and not checked yet (reminders from day \($0))." },
        reportSubmitted: { on, by in "Handed in on \(on)\(by.isEmpty ? "" : " by \(by)")" },
        sessionMoved: { "moved: \($0)" },
        actionColumn: "Action"
    )
}

import CreditDomain
import Testing

/// One rendered text per template, compared byte for byte: what a group leader, a commune union or
/// a district actually reads on their phone. Reviewed as Vietnamese; change a template only with
/// its golden text here.
@Suite struct ReminderTextsTests {
    static let sender = "Đoàn Thanh niên"

    @Test func weekdaysAndDates() {
        let days: [(CalendarDate, String)] = [
            (CalendarDate(year: 2026, month: 12, day: 3), "thứ Năm, 03/12/2026"),
            (CalendarDate(year: 2026, month: 12, day: 6), "Chủ nhật, 06/12/2026"),
            (CalendarDate(year: 2026, month: 11, day: 16), "thứ Hai, 16/11/2026"),
            (CalendarDate(year: 2028, month: 2, day: 29), "thứ Ba, 29/02/2028"),
            (CalendarDate(year: 2027, month: 1, day: 1), "thứ Sáu, 01/01/2027"),
            (CalendarDate(year: 1969, month: 12, day: 31), "thứ Tư, 31/12/1969"),
        ]
        for (day, text) in days { #expect(day.vietnameseWithWeekday == text) }
    }

    @Test func periodsInWords() {
        let periods = ["2026": "năm 2026", "2026-Q4": "quý IV/2026", "2026-Q1": "quý I/2026", "2026-03": "tháng 3/2026",
                       "2026-12": "tháng 12/2026", "2026-Q5": "2026-Q5", "2026-13": "2026-13", "kỳ lạ": "kỳ lạ"]
        for (period, words) in periods { #expect(ReminderTexts.periodInWords(period) == words, "\(period)") }
    }

    @Test func sessionToAGroupLeader() {
        #expect(ReminderTexts.session(
            sender: Self.sender, recipient: .groupLeader(groupName: "Tổ TK&VV thôn 1"), communePlace: "xã Thái Bình",
            location: "Trụ sở UBND xã Thái Bình", time: "07:30:00", date: CalendarDate(year: 2026, month: 12, day: 3), daysBefore: 1)
            == "Đoàn Thanh niên: Phiên giao dịch Ngân hàng Chính sách xã hội tại Trụ sở UBND xã Thái Bình (xã Thái Bình) lúc 7 giờ 30, thứ Năm, 03/12/2026 (ngày mai). Đề nghị tổ trưởng Tổ TK&VV thôn 1 thu lãi, tiết kiệm và nhắc tổ viên đến đúng giờ.")
    }

    @Test func sessionToTheCommuneUnion() {
        // The union is named once, with its own name: never "Đoàn xã xã Thái Bình".
        #expect(ReminderTexts.session(
            sender: Self.sender, recipient: .communeUnion(communeUnitName: "Đoàn xã Thái Bình"), communePlace: "xã Thái Bình",
            location: "", time: "08:00", date: CalendarDate(year: 2026, month: 12, day: 6), daysBefore: 3)
            == "Đoàn Thanh niên: Phiên giao dịch Ngân hàng Chính sách xã hội tại điểm giao dịch xã Thái Bình lúc 8 giờ, Chủ nhật, 06/12/2026 (còn 3 ngày). Đề nghị Đoàn xã Thái Bình phối hợp tổ chức giao ban định kỳ cùng phiên giao dịch.")
    }

    @Test func overdueToEachStepOfTheLadder() {
        func text(_ recipient: ReminderTexts.OverdueRecipient) -> String {
            ReminderTexts.overdue(sender: Self.sender, recipient: recipient, loanCode: "HD-0042", borrowerName: "Nguyễn Văn An",
                                  groupName: "Tổ TK&VV thôn 1", dueOn: CalendarDate(year: 2026, month: 11, day: 13), daysOverdue: 7,
                                  outstanding: 1_234_567)
        }
        let facts = "Đoàn Thanh niên: Khoản vay HD-0042 của hộ Nguyễn Văn An (Tổ TK&VV thôn 1) đã quá hạn 7 ngày (hạn trả 13/11/2026), dư nợ 1.234.567 đồng."
        #expect(text(.groupLeader) == facts + " Đề nghị tổ trưởng đến gặp hộ vay, đôn đốc trả nợ và báo kết quả.")
        #expect(text(.communeUnion) == facts + " Đề nghị phối hợp với tổ trưởng đôn đốc hộ vay trả nợ và ghi nhận kết quả.")
        #expect(text(.parentUnit) == facts + " Đề nghị chỉ đạo cơ sở đôn đốc thu hồi nợ quá hạn.")
    }

    /// Planned for a day the leader missed: "(nhắc muộn)" after the sender, and no relative day.
    @Test func lateTextsSaySoAndDropRelativeDays() {
        #expect(ReminderTexts.session(
            sender: Self.sender, recipient: .groupLeader(groupName: "Tổ TK&VV thôn 1"), communePlace: "xã Thái Bình",
            location: "Trụ sở UBND xã Thái Bình", time: "07:30", date: CalendarDate(year: 2026, month: 12, day: 3), daysBefore: 1, late: true)
            == "Đoàn Thanh niên (nhắc muộn): Phiên giao dịch Ngân hàng Chính sách xã hội tại Trụ sở UBND xã Thái Bình (xã Thái Bình) lúc 7 giờ 30, thứ Năm, 03/12/2026. Đề nghị tổ trưởng Tổ TK&VV thôn 1 thu lãi, tiết kiệm và nhắc tổ viên đến đúng giờ.")
        #expect(ReminderTexts.overdue(
            sender: Self.sender, recipient: .groupLeader, loanCode: "HD-0042", borrowerName: "Nguyễn Văn An", groupName: "Tổ TK&VV thôn 1",
            dueOn: CalendarDate(year: 2026, month: 11, day: 13), daysOverdue: 1, outstanding: 1_234_567, late: true)
            == "Đoàn Thanh niên (nhắc muộn): Khoản vay HD-0042 của hộ Nguyễn Văn An (Tổ TK&VV thôn 1) đã quá hạn (hạn trả 13/11/2026), dư nợ 1.234.567 đồng. Đề nghị tổ trưởng đến gặp hộ vay, đôn đốc trả nợ và báo kết quả.")
        #expect(ReminderTexts.report(
            sender: Self.sender, reportName: "Báo cáo quý", period: "2026-Q4", unitName: "Đoàn xã Thái Bình", receiverName: "Huyện đoàn Yên Sơn",
            dueOn: CalendarDate(year: 2026, month: 11, day: 25), daysToDue: 3, forReceiver: false, late: true)
            == "Đoàn Thanh niên (nhắc muộn): Báo cáo quý (quý IV/2026) của Đoàn xã Thái Bình gửi Huyện đoàn Yên Sơn hạn nộp thứ Tư, 25/11/2026.")
        #expect(ReminderTexts.report(
            sender: Self.sender, reportName: "Báo cáo quý", period: "2026-Q4", unitName: "Đoàn xã Thái Bình", receiverName: "Huyện đoàn Yên Sơn",
            dueOn: CalendarDate(year: 2026, month: 11, day: 13), daysToDue: -8, forReceiver: true, late: true)
            == "Đoàn Thanh niên (nhắc muộn): Báo cáo quý (quý IV/2026) của Đoàn xã Thái Bình gửi Huyện đoàn Yên Sơn đã quá hạn (hạn 13/11/2026) và chưa được nộp. Đề nghị đơn vị nhận báo cáo đôn đốc.")
        #expect(ReminderTexts.loanUseCheck(
            sender: Self.sender, loanCode: "HD-0100", borrowerName: "Trần Thị Bình", groupName: "Tổ TK&VV thôn 2", principal: 50_000_000,
            disbursedOn: CalendarDate(year: 2026, month: 11, day: 10), checkBy: CalendarDate(year: 2026, month: 12, day: 10), late: true)
            .hasPrefix("Đoàn Thanh niên (nhắc muộn): Khoản vay HD-0100"))
    }

    @Test func loanUseCheck() {
        #expect(ReminderTexts.loanUseCheck(
            sender: Self.sender, loanCode: "HD-0100", borrowerName: "Trần Thị Bình", groupName: "Tổ TK&VV thôn 2", principal: 50_000_000,
            disbursedOn: CalendarDate(year: 2026, month: 11, day: 10), checkBy: CalendarDate(year: 2026, month: 12, day: 10))
            == "Đoàn Thanh niên: Khoản vay HD-0100 của hộ Trần Thị Bình (Tổ TK&VV thôn 2), 50.000.000 đồng, giải ngân ngày 10/11/2026, chưa được kiểm tra sử dụng vốn. Đề nghị kiểm tra trước thứ Năm, 10/12/2026.")
    }

    @Test func reportDeadlines() {
        func text(_ name: String, _ period: String, daysToDue: Int, receiver: String? = "Tỉnh đoàn Tuyên Quang", forReceiver: Bool = false) -> String {
            ReminderTexts.report(sender: Self.sender, reportName: name, period: period, unitName: "Huyện đoàn Yên Sơn",
                                 receiverName: receiver, dueOn: CalendarDate(year: 2026, month: 11, day: 15), daysToDue: daysToDue,
                                 forReceiver: forReceiver)
        }
        // The type's name says "Báo cáo" already: not twice.
        #expect(text("Báo cáo năm về thực hiện ủy thác", "2026", daysToDue: 3)
            == "Đoàn Thanh niên: Báo cáo năm về thực hiện ủy thác (năm 2026) của Huyện đoàn Yên Sơn gửi Tỉnh đoàn Tuyên Quang hạn nộp Chủ nhật, 15/11/2026 (còn 3 ngày).")
        #expect(text("Báo cáo quý", "2026-Q4", daysToDue: 0)
            == "Đoàn Thanh niên: Báo cáo quý (quý IV/2026) của Huyện đoàn Yên Sơn gửi Tỉnh đoàn Tuyên Quang hạn nộp hôm nay, Chủ nhật, 15/11/2026.")
        #expect(text("Kết quả giao ban", "2026-03", daysToDue: -8)
            == "Đoàn Thanh niên: Báo cáo \"Kết quả giao ban\" (tháng 3/2026) của Huyện đoàn Yên Sơn gửi Tỉnh đoàn Tuyên Quang đã quá hạn 8 ngày (hạn 15/11/2026) và chưa được nộp. Đề nghị nộp ngay.")
        #expect(text("Báo cáo năm về thực hiện ủy thác", "2026", daysToDue: -1, forReceiver: true)
            == "Đoàn Thanh niên: Báo cáo năm về thực hiện ủy thác (năm 2026) của Huyện đoàn Yên Sơn gửi Tỉnh đoàn Tuyên Quang đã quá hạn 1 ngày (hạn 15/11/2026) và chưa được nộp. Đề nghị đơn vị nhận báo cáo đôn đốc.")
        // A root unit's report has nobody above it to go to.
        #expect(text("Báo cáo quý", "2026-Q4", daysToDue: 7, receiver: nil)
            == "Đoàn Thanh niên: Báo cáo quý (quý IV/2026) của Huyện đoàn Yên Sơn hạn nộp Chủ nhật, 15/11/2026 (còn 7 ngày).")
    }

    /// A commune contact with seven overdue loans on one day: one text, the first five listed.
    @Test func overdueDigestToTheCommuneUnion() {
        let lines = (1...7).map {
            ReminderTexts.overdueDigestLine(loanCode: "HD-00\($0)", borrowerName: "Hộ \($0)", groupName: "Tổ TK&VV thôn \($0)",
                                            daysOverdue: 30, outstanding: 1_000_000 * $0)
        }
        #expect(lines[0] == "HD-001 của hộ Hộ 1 (Tổ TK&VV thôn 1) quá hạn 30 ngày, dư nợ 1.000.000 đồng")
        #expect(ReminderTexts.digest(sender: Self.sender, topic: .overdue(.communeUnion), lines: Array(lines.prefix(2)), maxItems: 5)
            == "Đoàn Thanh niên: 2 khoản vay quá hạn cần đôn đốc: 1) HD-001 của hộ Hộ 1 (Tổ TK&VV thôn 1) quá hạn 30 ngày, dư nợ 1.000.000 đồng; 2) HD-002 của hộ Hộ 2 (Tổ TK&VV thôn 2) quá hạn 30 ngày, dư nợ 2.000.000 đồng. Đề nghị phối hợp với tổ trưởng đôn đốc các hộ vay trả nợ và ghi nhận kết quả. Chi tiết trên trang theo dõi.")
        let seven = ReminderTexts.digest(sender: Self.sender, topic: .overdue(.parentUnit), lines: lines, maxItems: 5)
        #expect(seven.hasPrefix("Đoàn Thanh niên: 7 khoản vay quá hạn cần đôn đốc: 1) HD-001"))
        #expect(seven.hasSuffix("5) HD-005 của hộ Hộ 5 (Tổ TK&VV thôn 5) quá hạn 30 ngày, dư nợ 5.000.000 đồng; và 2 khoản khác. Đề nghị chỉ đạo cơ sở đôn đốc thu hồi nợ quá hạn. Chi tiết trên trang theo dõi."))
        #expect(!seven.contains("HD-006"))
    }

    @Test func sessionLoanCheckAndReportDigests() {
        let sessions = [
            ReminderTexts.sessionDigestLine(communePlace: "xã Kim Phú", location: "Nhà văn hóa thôn 3", time: "08:00",
                                            date: CalendarDate(year: 2028, month: 2, day: 29)),
            ReminderTexts.sessionDigestLine(communePlace: "xã Kim Phú", location: "", time: "07:30",
                                            date: CalendarDate(year: 2028, month: 2, day: 29)),
        ]
        #expect(ReminderTexts.digest(sender: Self.sender, topic: .sessions, lines: sessions, maxItems: 5, late: true)
            == "Đoàn Thanh niên (nhắc muộn): 2 phiên giao dịch: 1) thứ Ba, 29/02/2028 lúc 8 giờ tại Nhà văn hóa thôn 3 (xã Kim Phú); 2) thứ Ba, 29/02/2028 lúc 7 giờ 30 tại điểm giao dịch xã Kim Phú. Đề nghị phối hợp tổ chức giao ban định kỳ cùng các phiên giao dịch. Chi tiết trên trang theo dõi.")
        let checks = ["HD-0100", "HD-0101"].map {
            ReminderTexts.loanCheckDigestLine(loanCode: $0, borrowerName: "Trần Thị Bình", groupName: "Tổ TK&VV thôn 2",
                                              checkBy: CalendarDate(year: 2026, month: 12, day: 31))
        }
        #expect(ReminderTexts.digest(sender: Self.sender, topic: .loanChecks, lines: checks, maxItems: 1)
            == "Đoàn Thanh niên: 2 khoản vay chưa được kiểm tra sử dụng vốn: 1) HD-0100 của hộ Trần Thị Bình (Tổ TK&VV thôn 2), kiểm tra trước 31/12/2026; và 1 khoản khác. Đề nghị kiểm tra trước hạn đã ghi. Chi tiết trên trang theo dõi.")
        let reports = [
            ReminderTexts.reportDigestLine(reportName: "Báo cáo năm về thực hiện ủy thác", period: "2026", unitName: "Đoàn xã Thái Bình",
                                           dueOn: CalendarDate(year: 2026, month: 11, day: 15), daysToDue: -8),
            ReminderTexts.reportDigestLine(reportName: "Kết quả giao ban", period: "2026-Q4", unitName: "Đoàn xã Kim Phú",
                                           dueOn: CalendarDate(year: 2026, month: 12, day: 31), daysToDue: 3),
        ]
        #expect(ReminderTexts.digest(sender: Self.sender, topic: .reports(forReceiver: true), lines: reports, maxItems: 5)
            == "Đoàn Thanh niên: 2 báo cáo cần nộp: 1) Báo cáo năm về thực hiện ủy thác (năm 2026) của Đoàn xã Thái Bình, hạn 15/11/2026, quá hạn 8 ngày; 2) Báo cáo \"Kết quả giao ban\" (quý IV/2026) của Đoàn xã Kim Phú, hạn 31/12/2026. Đề nghị đơn vị nhận báo cáo đôn đốc. Chi tiết trên trang theo dõi.")
    }

    @Test func aLeadersReminderForwardedToTheCommuneSaysForWhom() {
        #expect(ReminderTexts.forwarded("Đoàn Thanh niên: Phiên giao dịch …", groupName: "Tổ TK&VV thôn 9")
            == "Đoàn Thanh niên: Phiên giao dịch … (Gửi thay tổ trưởng Tổ TK&VV thôn 9: chưa có số điện thoại của tổ trưởng, đề nghị chuyển lời và bổ sung số.)")
    }
}

/// When each kind of reminder stops being worth sending, with the default days (sessions 3 and 1
/// before; overdue days 1, 7, 30 then every 30; reports 14, 7, 3, 1, 0 before, then every 7 days
/// after day 1) and the window opening at 07:00.
@Suite struct ReminderExpiryTests {
    static let expiry = ReminderExpiry(sessionDaysBefore: [3, 1], overdueDays: [1, 7, 30], overdueRepeatDays: 30,
                                       reportDaysBefore: [14, 7, 3, 1, 0], reportRepeatDays: 7, sendFromMinutes: 7 * 60)

    static func at(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int = 0) -> Double {
        ReminderExpiry.moment(CalendarDate(year: year, month: month, day: day), minutes: hour * 60 + minute)
    }

    @Test func vietnamTimeIsUTCPlusSeven() {
        // 2026-12-01 07:00 in Hà Nội is 00:00 UTC.
        #expect(Self.at(2026, 12, 1, 7) == 1_796_083_200)
    }

    @Test func sessionRemindersExpireWhenTheNextOneGoesOrTheSessionBegins() {
        let session = CalendarDate(year: 2027, month: 1, day: 2)
        // Three days before: when the day-before reminder goes, across the year's end.
        #expect(Self.expiry.session(date: session, startMinutes: 7 * 60 + 30, daysBefore: 3) == Self.at(2027, 1, 1, 7))
        #expect(Self.expiry.session(date: session, startMinutes: 7 * 60 + 30, daysBefore: 1) == Self.at(2027, 1, 2, 7, 30))
    }

    @Test func overdueStepsExpireOnTheNextStepsDay() {
        let due = CalendarDate(year: 2028, month: 2, day: 1)
        #expect(Self.expiry.overdue(dueOn: due, daysOverdue: 1) == Self.at(2028, 2, 8, 7))
        // 30 days past 1 February 2028 (a leap year): 2 March; the next step is 60 days past.
        #expect(Self.expiry.overdue(dueOn: due, daysOverdue: 30) == Self.at(2028, 4, 1, 7))
        #expect(Self.expiry.overdue(dueOn: due, daysOverdue: 60) == Self.at(2028, 5, 1, 7))
    }

    @Test func reportStepsExpireAtTheNextStepOrTheDueDaysEnd() {
        let due = CalendarDate(year: 2026, month: 11, day: 15)
        #expect(Self.expiry.report(dueOn: due, daysToDue: 14) == Self.at(2026, 11, 8, 7))
        #expect(Self.expiry.report(dueOn: due, daysToDue: 1) == Self.at(2026, 11, 15, 7))
        #expect(Self.expiry.report(dueOn: due, daysToDue: 0) == Self.at(2026, 11, 16, 0))
        #expect(Self.expiry.report(dueOn: due, daysToDue: -1) == Self.at(2026, 11, 23, 7))
        #expect(Self.expiry.report(dueOn: due, daysToDue: -8) == Self.at(2026, 11, 30, 7))
    }

    @Test func aLoanCheckExpiresAfterItsDeadline() {
        #expect(Self.expiry.loanCheck(checkBy: CalendarDate(year: 2026, month: 2, day: 28)) == Self.at(2026, 3, 1, 0))
    }
}

/// SMS parts: GSM-7 160/153, UCS-2 70/67 (UTF-16 units), and Vietnamese without its marks.
@Suite struct SMSTextTests {
    @Test func diacriticsAreRemovedLetterByLetter() {
        #expect(SMSText.withoutDiacritics("Đoàn Thanh niên: Phiên giao dịch tại Trụ sở UBND xã Thái Bình, thứ Năm, 03/12/2026. Đề nghị tổ trưởng Tổ TK&VV thôn 1 thu lãi, tiết kiệm.")
            == "Doan Thanh nien: Phien giao dich tai Tru so UBND xa Thai Binh, thu Nam, 03/12/2026. De nghi to truong To TK&VV thon 1 thu lai, tiet kiem.")
        #expect(SMSText.withoutDiacritics("ỲÝỶỸỴ ỳýỷỹỵ ĂẰẮẲẴẶ ƯỪỨỬỮỰ ƠỜỚỞỠỢ") == "YYYYY yyyyy AAAAAA UUUUUU OOOOOO")
    }

    @Test func segmentCounts() {
        #expect(SMSText.segments(String(repeating: "a", count: 160)) == (.gsm7, 1))
        #expect(SMSText.segments(String(repeating: "a", count: 161)) == (.gsm7, 2))
        #expect(SMSText.segments(String(repeating: "a", count: 306)) == (.gsm7, 2))
        #expect(SMSText.segments(String(repeating: "a", count: 307)) == (.gsm7, 3))
        // An extension character takes two septets.
        #expect(SMSText.segments(String(repeating: "a", count: 159) + "€") == (.gsm7, 2))
        #expect(SMSText.segments(String(repeating: "ă", count: 70)) == (.ucs2, 1))
        #expect(SMSText.segments(String(repeating: "ă", count: 71)) == (.ucs2, 2))
        #expect(SMSText.segments(String(repeating: "ă", count: 134)) == (.ucs2, 2))
        #expect(SMSText.segments(String(repeating: "ă", count: 135)) == (.ucs2, 3))
        // A reminder: four parts with its marks, two without.
        let text = ReminderTexts.overdue(
            sender: "Đoàn Thanh niên", recipient: .groupLeader, loanCode: "HD-0042", borrowerName: "Nguyễn Văn An", groupName: "Tổ TK&VV thôn 1",
            dueOn: CalendarDate(year: 2026, month: 11, day: 13), daysOverdue: 7, outstanding: 1_234_567)
        #expect(SMSText.segments(text).encoding == .ucs2)
        #expect(SMSText.segments(SMSText.withoutDiacritics(text)).encoding == .gsm7)
        #expect(SMSText.segments(SMSText.withoutDiacritics(text)).count < SMSText.segments(text).count)
    }
}

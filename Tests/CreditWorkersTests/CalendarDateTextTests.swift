import CreditDomain
import Testing

/// The date texts every import, export and reminder writes (`iso` is written byte by byte).
@Suite struct CalendarDateTextTests {
    @Test func isoAndVietnameseTextsPadEveryPart() {
        #expect(CalendarDate(year: 2026, month: 11, day: 5).iso == "2026-11-05")
        #expect(CalendarDate(year: 987, month: 1, day: 31).iso == "0987-01-31")
        #expect(CalendarDate(year: 2026, month: 11, day: 5).vietnamese == "05/11/2026")
        #expect(CalendarDate(year: 12345, month: 12, day: 1).iso == "12345-12-01")
        #expect(7.zeroPadded(3) == "007")
        #expect(1234.zeroPadded(2) == "1234")
    }

    @Test func everyDayOfTwoCenturiesReadsBackFromItsISOText() {
        let first = CalendarDate(year: 1900, month: 1, day: 1).daysSinceEpoch
        let last = CalendarDate(year: 2100, month: 12, day: 31).daysSinceEpoch
        var wrong: [String] = []
        for days in first...last {
            let date = CalendarDate(daysSinceEpoch: days)
            if CalendarDate(iso: date.iso) != date { wrong.append(date.iso) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}

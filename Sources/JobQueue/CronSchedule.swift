public import Foundation

/// A cron schedule (`minute hour day-of-month month day-of-week`) in a time zone.
///
/// Each field takes `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, and comma-separated
/// lists of these; months and weekdays also take names (`jan`…`dec`, `sun`…`sat`; 0 and 7 are
/// both Sunday). As in Vixie cron, when both day fields are restricted a day matches either.
///
/// ```swift
/// let daily = try CronSchedule("0 7 * * *", timeZone: TimeZone(identifier: "Asia/Ho_Chi_Minh")!)
/// daily.next(after: .now)  // the next 07:00 in Hà Nội
/// ```
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The expression as given.
    public let expression: String
    /// The zone in which the fields are read.
    public let timeZone: TimeZone
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>  // 0 = Sunday
    let daysOfMonthRestricted: Bool
    let weekdaysRestricted: Bool

    /// Parses `expression`, read in `timeZone` (UTC unless given).
    /// - Throws: ``CronError`` naming the field at fault and why.
    public init(_ expression: String, timeZone: TimeZone = CronSchedule.utc) throws {
        let fields = expression.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 5 else {
            throw CronError("cron expression '\(expression)' has \(fields.count) fields; expected 5: minute hour day-of-month month day-of-week")
        }
        self.expression = expression
        self.timeZone = timeZone
        minutes = try Self.parse(fields[0], field: "minute", range: 0...59, names: [:])
        hours = try Self.parse(fields[1], field: "hour", range: 0...23, names: [:])
        daysOfMonth = try Self.parse(fields[2], field: "day-of-month", range: 1...31, names: [:])
        months = try Self.parse(fields[3], field: "month", range: 1...12, names: Self.monthNames)
        let weekdays = try Self.parse(fields[4], field: "day-of-week", range: 0...7, names: Self.weekdayNames)
        self.weekdays = Set(weekdays.map { $0 % 7 })
        daysOfMonthRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    /// UTC, the default: a schedule in local time names its zone.
    public static let utc = TimeZone(identifier: "UTC")!

    public var description: String { "\(expression) (\(timeZone.identifier))" }

    /// The first time strictly after `date` that matches, at a whole minute; nil if none within
    /// eight years (only for impossible dates such as `0 0 30 2 *`).
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.dateInterval(of: .minute, for: date)!.start.addingTimeInterval(60)
        var parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: start)
        let lastYear = parts.year! + 8
        // Walk field by field, jumping whole months, days and hours where they cannot match:
        // at most a few thousand steps for any schedule.
        while parts.year! <= lastYear {
            guard months.contains(parts.month!) else {
                parts = Self.startOfNextMonth(parts)
                continue
            }
            guard let day = calendar.date(from: DateComponents(year: parts.year, month: parts.month, day: parts.day)),
                calendar.component(.month, from: day) == parts.month
            else {
                parts = Self.startOfNextMonth(parts)
                continue
            }
            guard matchesDay(dayOfMonth: parts.day!, weekday: calendar.component(.weekday, from: day) - 1) else {
                parts = Self.startOfNextDay(parts)
                continue
            }
            guard let hour = hours.filter({ $0 >= parts.hour! }).min() else {
                parts = Self.startOfNextDay(parts)
                continue
            }
            if hour != parts.hour! {
                parts.hour = hour
                parts.minute = 0
            }
            guard let minute = minutes.filter({ $0 >= parts.minute! }).min() else {
                parts.hour! += 1
                parts.minute = 0
                if parts.hour! > 23 { parts = Self.startOfNextDay(parts) }
                continue
            }
            parts.minute = minute
            return calendar.date(from: parts)
        }
        return nil
    }

    /// The latest matching time at or before `date`; nil if none within eight years.
    public func previous(atOrBefore date: Date) -> Date? {
        // Step back from `date` through candidate times found with next(after:).
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var windowStart = date.addingTimeInterval(-86_400)
        for _ in 0..<3000 {
            var candidate = next(after: windowStart.addingTimeInterval(-60))
            var latest: Date?
            while let found = candidate, found <= date {
                latest = found
                candidate = next(after: found)
            }
            if let latest { return latest }
            windowStart = windowStart.addingTimeInterval(-86_400)
        }
        return nil
    }

    private func matchesDay(dayOfMonth: Int, weekday: Int) -> Bool {
        switch (daysOfMonthRestricted, weekdaysRestricted) {
        case (true, true): daysOfMonth.contains(dayOfMonth) || weekdays.contains(weekday)
        case (true, false): daysOfMonth.contains(dayOfMonth)
        case (false, true): weekdays.contains(weekday)
        case (false, false): true
        }
    }

    private static func startOfNextMonth(_ parts: DateComponents) -> DateComponents {
        var next = parts
        next.month! += 1
        if next.month! > 12 {
            next.month = 1
            next.year! += 1
        }
        next.day = 1
        next.hour = 0
        next.minute = 0
        return next
    }

    private static func startOfNextDay(_ parts: DateComponents) -> DateComponents {
        var next = parts
        next.day! += 1
        next.hour = 0
        next.minute = 0
        if next.day! > 31 {
            return startOfNextMonth(parts)
        }
        return next
    }

    static let monthNames = ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
    static let weekdayNames = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]

    static func parse(_ text: String, field: String, range: ClosedRange<Int>, names: [String: Int]) throws -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw CronError("\(field) field '\(text)' has an empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw CronError("\(field) field '\(part)' has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw CronError("\(field) field '\(part)': step '\(pieces[1])' must be a whole number above 0")
                }
                step = parsed
            }
            let span: ClosedRange<Int>
            if pieces[0] == "*" {
                span = range
            } else {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw CronError("\(field) field '\(part)' is not a number, name or range") }
                let low = try value(bounds[0], field: field, range: range, names: names)
                let high = bounds.count == 2 ? try value(bounds[1], field: field, range: range, names: names) : (pieces.count == 2 ? range.upperBound : low)
                guard low <= high else { throw CronError("\(field) field '\(part)': range \(low)-\(high) runs backwards") }
                span = low...high
            }
            values.formUnion(stride(from: span.lowerBound, through: span.upperBound, by: step))
        }
        return values
    }

    private static func value(_ text: Substring, field: String, range: ClosedRange<Int>, names: [String: Int]) throws -> Int {
        if let named = names[text.lowercased()] { return named }
        guard let number = Int(text) else {
            throw CronError("\(field) field: '\(text)' is not a number\(names.isEmpty ? "" : " or a name")")
        }
        guard range.contains(number) else {
            throw CronError("\(field) field: \(number) is out of range \(range.lowerBound)-\(range.upperBound)")
        }
        return number
    }
}

/// A malformed cron expression; the message names the field.
public struct CronError: Error, Sendable, CustomStringConvertible {
    /// One line for people.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

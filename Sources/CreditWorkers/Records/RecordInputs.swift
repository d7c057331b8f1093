public import CreditDomain

// The staff writes' rules, one place: the command line and the dashboard's forms read their
// fields through these, so both refuse the same things with the same reasons.

/// What came of one follow-up of an overdue loan.
public struct FollowupOutcomeInput: Sendable, Equatable {
    public enum Outcome: String, Sendable, CaseIterable {
        case promised, paid, moved_away, risk_proposed
    }

    public var outcome: Outcome
    /// The day the borrower promised to pay (only with `.promised`).
    public var promisedOn: CalendarDate?
    public var note: String

    public static let noteLimit = 1000

    /// Fields: `outcome`, `promised_on`, `note`.
    public static func parse(outcome: String?, promisedOn: String?, note: String?) throws(FieldProblems) -> FollowupOutcomeInput {
        var problems = FieldProblems()
        var chosen: Outcome?
        if let text = FieldText.given(outcome) {
            chosen = Outcome(rawValue: text)
            if chosen == nil { problems.add("outcome", .notAnOption(text, options: Outcome.allCases.map(\.rawValue))) }
        } else {
            problems.add("outcome", .missing)
        }
        var promised: CalendarDate?
        if let text = FieldText.given(promisedOn) {
            promised = FieldText.date(text, "promised_on", &problems)
            if let chosen, chosen != .promised { problems.add("promised_on", .onlyWhenPromised) }
        } else if chosen == .promised {
            problems.add("promised_on", .missing)
        }
        let note = note ?? ""
        FieldText.limit(note, noteLimit, "note", &problems)
        try problems.check()
        return FollowupOutcomeInput(outcome: chosen!, promisedOn: promised, note: note)
    }
}

/// A loan's use checked on a day (its loan-use reminders stop).
public struct LoanUseCheckInput: Sendable, Equatable {
    public var on: CalendarDate

    /// Field: `on` (blank: today). A check cannot be recorded for a day still to come.
    public static func parse(on: String?, today: CalendarDate) throws(FieldProblems) -> LoanUseCheckInput {
        var problems = FieldProblems()
        var day = today
        if let text = FieldText.given(on), let given = FieldText.date(text, "on", &problems) {
            day = given
            if given > today { problems.add("on", .inTheFuture(given)) }
        }
        try problems.check()
        return LoanUseCheckInput(on: day)
    }
}

/// A report obligation handed in: the day, and who handed it in.
public struct ReportSubmissionInput: Sendable, Equatable {
    public var on: CalendarDate
    public var by: String

    public static let nameLimit = 200

    /// Fields: `on` (blank: today), `by` (required).
    public static func parse(on: String?, by: String?, today: CalendarDate) throws(FieldProblems) -> ReportSubmissionInput {
        var problems = FieldProblems()
        var day = today
        if let text = FieldText.given(on), let given = FieldText.date(text, "on", &problems) {
            day = given
            if given > today { problems.add("on", .inTheFuture(given)) }
        }
        let name = FieldText.given(by)
        if let name { FieldText.limit(name, nameLimit, "by", &problems) } else { problems.add("by", .missing) }
        try problems.check()
        return ReportSubmissionInput(on: day, by: name!)
    }
}

/// One month's session of a point moved to another day (an override).
public struct SessionMoveInput: Sendable, Equatable {
    /// The first day of the month whose session moves.
    public var month: CalendarDate
    public var to: CalendarDate
    /// HH:MM, or nil for the point's usual time.
    public var time: String?
    public var reason: String

    public static let reasonLimit = 200

    /// Fields: `month` (YYYY-MM), `to`, `time` (optional), `reason`.
    public static func parse(month: String?, to: String?, time: String?, reason: String?) throws(FieldProblems) -> SessionMoveInput {
        var problems = FieldProblems()
        var first: CalendarDate?
        if let text = FieldText.given(month) {
            first = text.count == 7 ? CalendarDate(iso: text + "-01") : nil
            if first == nil { problems.add("month", .notAMonth(text)) }
        } else {
            problems.add("month", .missing)
        }
        var day: CalendarDate?
        if let text = FieldText.given(to) { day = FieldText.date(text, "to", &problems) } else { problems.add("to", .missing) }
        if let first, let day, abs(day.daysSinceEpoch - first.daysSinceEpoch) > 62 { problems.add("to", .tooFarFromMonth(first)) }
        let time = FieldText.given(time)
        if let time, time.count != 5 || VietnameseFormat.minutes(time).map({ !(0..<1440).contains($0) }) ?? true {
            problems.add("time", .notATime(time))
        }
        let reason = reason ?? ""
        FieldText.limit(reason, reasonLimit, "reason", &problems)
        try problems.check()
        return SessionMoveInput(month: first!, to: day!, time: time, reason: reason)
    }
}

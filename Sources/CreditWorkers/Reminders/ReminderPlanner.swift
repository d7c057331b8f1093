public import CreditDomain
public import Foundation
public import JobQueue
public import Logging
public import PostgresNIO

/// Finds what is due on a day and writes one outbox row per (reminder, recipient, step), then
/// one delivery job per new row, in one transaction. Planning a day again adds nothing: the
/// idempotency key of every row is made of what it reminds of, whom, and which step.
public struct ReminderPlanner: Sendable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case sessions
        case overdue
        case loanChecks = "loan-checks"
        case reports
    }

    /// What one planner run did.
    public struct Report: Sendable, Codable {
        public var planner: Kind
        public var day: String
        /// (reminder, recipient) pairs due that day.
        public var due: Int
        /// Outbox rows and delivery jobs written now.
        public var created: Int
        /// Already in the outbox from an earlier run of the same day.
        public var alreadyPlanned: Int
        /// Recipients with no usable phone on file (none, or not a Vietnamese mobile number):
        /// nothing can reach them; fix the data.
        public var withoutPhone: Int
        /// Recorded `opted_out` instead of sent: the number is on `recipient_opt_outs`.
        public var optedOut: Int
        /// Messages that carry several of the new reminders at once (each counted in `created`).
        public var digests: Int
        public var followupsCreated: Int
        public var seconds: Double
    }

    public static let queue = "reminders"
    public static let deliveryKind = "notifications.deliver"

    public let client: PostgresClient
    public let logger: Logger
    public let jobQueue: JobQueue

    public init(client: PostgresClient, registry: JobRegistry, logger: Logger) {
        self.client = client
        self.logger = logger
        self.jobQueue = JobQueue(client: client, registry: registry, logger: logger)
    }

    /// Runs every planner for `day`.
    public func planAll(day: CalendarDate, now: Date) async throws -> [Report] {
        var reports: [Report] = []
        for kind in Kind.allCases {
            reports.append(try await plan(kind, day: day, now: now))
        }
        return reports
    }

    /// Runs one planner for `day` (in Vietnam); deliveries are due at `now`, or at the next
    /// opening of the sending window.
    public func plan(_ kind: Kind, day: CalendarDate, now: Date) async throws -> Report {
        let started = ContinuousClock.now
        var report = try await client.inTransaction(logger: logger) { connection in
            let window = try await sendingWindow(on: connection)
            let sender = try await senderName(on: connection)
            let expiry = try await schedule(on: connection)
            // Planned after its day (a missed morning caught up): texts say so and drop relative days.
            let late = day < CalendarDate(unixTime: now.timeIntervalSince1970)
            let deliverAfter = window.earliestDelivery(atOrAfter: now.timeIntervalSince1970)
            var candidates: [Candidate] = []
            var followups: [(loan: Int64, dueOn: String, days: Int)] = []
            switch kind {
            case .sessions: candidates = try await sessions(day, sender: sender, expiry: expiry, late: late, on: connection)
            case .overdue: (candidates, followups) = try await overdue(day, sender: sender, expiry: expiry, late: late, on: connection)
            case .loanChecks: candidates = try await loanChecks(day, sender: sender, expiry: expiry, late: late, on: connection)
            case .reports: candidates = try await reports(day, sender: sender, expiry: expiry, late: late, on: connection)
            }
            let written = try await write(candidates, day: day, deliverAfter: deliverAfter, late: late, on: connection)
            let followupsCreated = try await insertFollowups(followups, day: day, on: connection)
            return Report(
                planner: kind, day: day.iso, due: candidates.count, created: written.created,
                alreadyPlanned: written.alreadyPlanned, withoutPhone: written.withoutPhone, optedOut: written.optedOut,
                digests: written.digests, followupsCreated: followupsCreated, seconds: 0)
        }
        report.seconds = (ContinuousClock.now - started).seconds
        logger.info("Planned reminders", metadata: [
            "planner": "\(kind.rawValue)", "day": "\(day.iso)", "due": "\(report.due)", "created": "\(report.created)",
            "without_phone": "\(report.withoutPhone)", "opted_out": "\(report.optedOut)", "digests": "\(report.digests)",
        ])
        return report
    }

    /// One reminder to one recipient, ready for the outbox.
    struct Candidate {
        var key: String
        var kind: String
        var name: String
        var phone: String
        var unitID: Int64
        var unitCode: String
        var text: String
        /// Seconds since 1970 after which it is not worth sending (``ReminderExpiry``).
        var expiresAt: Double
        /// How it reads in a digest to its recipient's unit; nil: it always goes on its own (a
        /// group leader's session reminder, a reminder forwarded for a leader without a phone).
        var digest: DigestEntry? = nil
    }

    struct DigestEntry {
        var topic: ReminderTexts.DigestTopic
        var line: String
        /// The recipient's unit, whose dashboard counts the digest.
        var unitID: Int64
        var unitCode: String
    }

    func sendingWindow(on connection: PostgresConnection) async throws -> SendingWindow {
        for try await (opens, closes) in try await connection.query(PostgresQuery(unsafeSQL: PlannerSQL.window), logger: logger)
            .decode((Int, Int).self)
        {
            return SendingWindow(opens: opens, closes: closes)
        }
        return SendingWindow()
    }

    private func schedule(on connection: PostgresConnection) async throws -> ReminderExpiry {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: PlannerSQL.schedule), logger: logger)
        for try await (sessions, overdue, overdueRepeat, reports, reportRepeat, sendFrom) in rows.decode(
            ([Int], [Int], Int, [Int], Int, Int).self)
        {
            return ReminderExpiry(sessionDaysBefore: sessions, overdueDays: overdue, overdueRepeatDays: overdueRepeat,
                                  reportDaysBefore: reports, reportRepeatDays: reportRepeat, sendFromMinutes: sendFrom)
        }
        throw PlannerError(description: "reminder_settings has no row")
    }

    struct PlannerError: Error, CustomStringConvertible {
        let description: String
    }

    func senderName(on connection: PostgresConnection) async throws -> String {
        for try await name in try await connection.query("SELECT sender_name FROM reminder_settings", logger: logger).decode(String.self) {
            return name
        }
        return "Đoàn Thanh niên"
    }

    private func query(_ sql: String, _ day: CalendarDate, on connection: PostgresConnection) async throws -> PostgresRowSequence {
        var binds = PostgresBindings()
        binds.append(day.iso)
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    /// A group leader's reminder, or, when the leader has no phone on file, the same reminder to
    /// the commune's contact, saying whom it is for (never digested: it stands for one leader).
    private func toLeader(_ candidate: Candidate, groupName: String, communeContact: (name: String, phone: String)) -> Candidate {
        guard candidate.phone.trimmingSpaces.isEmpty, !communeContact.phone.trimmingSpaces.isEmpty else { return candidate }
        var forwarded = candidate
        forwarded.name = communeContact.name
        forwarded.phone = communeContact.phone
        forwarded.text = ReminderTexts.forwarded(candidate.text, groupName: groupName)
        forwarded.digest = nil
        return forwarded
    }

    private func sessions(_ day: CalendarDate, sender: String, expiry: ReminderExpiry, late: Bool, on connection: PostgresConnection) async throws -> [Candidate] {
        var candidates: [Candidate] = []
        let rows = try await query(PlannerSQL.sessions, day, on: connection)
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let point = try cells[0].decode(String.self), sessionOn = try cells[1].decode(String.self)
            let time = try cells[2].decode(String.self), location = try cells[3].decode(String.self)
            let daysBefore = try cells[4].decode(Int.self), communeID = try cells[5].decode(Int64.self)
            let communeCode = try cells[6].decode(String.self), communeName = try cells[7].decode(String.self)
            let recipientType = try cells[8].decode(String.self), recipientCode = try cells[9].decode(String.self)
            let groupName = try cells[10].decode(String.self)
            let name = try cells[11].decode(String.self), phone = try cells[12].decode(String.self)
            let communeContact = (name: try cells[13].decode(String.self), phone: try cells[14].decode(String.self))
            guard let date = CalendarDate(iso: sessionOn) else { continue }
            let place = communeName.droppingUnitPrefix
            let text = ReminderTexts.session(
                sender: sender,
                recipient: recipientType == "group" ? .groupLeader(groupName: groupName) : .communeUnion(communeUnitName: communeName),
                communePlace: place, location: location, time: time, date: date, daysBefore: daysBefore, late: late)
            let candidate = Candidate(
                key: "session:\(point):\(sessionOn):\(daysBefore)d:\(recipientType):\(recipientCode)", kind: "session_reminder",
                name: name, phone: phone, unitID: communeID, unitCode: communeCode, text: text,
                expiresAt: expiry.session(date: date, startMinutes: VietnameseFormat.minutes(time) ?? 0, daysBefore: daysBefore))
            if recipientType == "group" {
                candidates.append(toLeader(candidate, groupName: groupName, communeContact: communeContact))
            } else {
                var toCommune = candidate
                toCommune.digest = DigestEntry(
                    topic: .sessions,
                    line: ReminderTexts.sessionDigestLine(communePlace: place, location: location, time: time, date: date),
                    unitID: communeID, unitCode: communeCode)
                candidates.append(toCommune)
            }
        }
        return candidates
    }

    private func overdue(_ day: CalendarDate, sender: String, expiry: ReminderExpiry, late: Bool, on connection: PostgresConnection) async throws
        -> ([Candidate], [(loan: Int64, dueOn: String, days: Int)])
    {
        var candidates: [Candidate] = []
        var followups: [(loan: Int64, dueOn: String, days: Int)] = []
        let rows = try await query(PlannerSQL.overdue, day, on: connection)
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let loanID = try cells[0].decode(Int64.self), loanCode = try cells[1].decode(String.self)
            let dueOn = try cells[2].decode(String.self), days = try cells[3].decode(Int.self)
            let outstanding = try cells[4].decode(Int.self), borrower = try cells[5].decode(String.self)
            let groupCode = try cells[6].decode(String.self), groupName = try cells[7].decode(String.self)
            let communeID = try cells[10].decode(Int64.self), communeCode = try cells[11].decode(String.self)
            let communeContact = (name: try cells[13].decode(String.self), phone: try cells[14].decode(String.self))
            let communeFrom = try cells[20].decode(Int.self), parentFrom = try cells[21].decode(Int.self)
            guard let due = CalendarDate(iso: dueOn) else { continue }
            followups.append((loanID, dueOn, days))
            let line = ReminderTexts.overdueDigestLine(
                loanCode: loanCode, borrowerName: borrower, groupName: groupName, daysOverdue: days, outstanding: outstanding, late: late)
            func candidate(_ recipient: String, _ role: ReminderTexts.OverdueRecipient, name: String, phone: String) -> Candidate {
                let text = ReminderTexts.overdue(
                    sender: sender, recipient: role, loanCode: loanCode, borrowerName: borrower, groupName: groupName, dueOn: due,
                    daysOverdue: days, outstanding: outstanding, late: late)
                return Candidate(
                    key: "overdue:\(loanCode):\(dueOn):\(days)d:\(recipient)", kind: "overdue_followup",
                    name: name, phone: phone, unitID: communeID, unitCode: communeCode, text: text,
                    expiresAt: expiry.overdue(dueOn: due, daysOverdue: days))
            }
            candidates.append(toLeader(
                candidate("group:\(groupCode)", .groupLeader, name: try cells[8].decode(String.self), phone: try cells[9].decode(String.self)),
                groupName: groupName, communeContact: communeContact))
            if days >= communeFrom {
                var toCommune = candidate("unit:\(communeCode)", .communeUnion, name: communeContact.name, phone: communeContact.phone)
                toCommune.digest = DigestEntry(topic: .overdue(.communeUnion), line: line, unitID: communeID, unitCode: communeCode)
                candidates.append(toCommune)
            }
            if days >= parentFrom, let parentID = try cells[15].decode(Int64?.self), let parentCode = try cells[16].decode(String?.self) {
                var toParent = candidate("unit:\(parentCode)", .parentUnit, name: try cells[18].decode(String?.self) ?? "",
                                         phone: try cells[19].decode(String?.self) ?? "")
                toParent.digest = DigestEntry(topic: .overdue(.parentUnit), line: line, unitID: parentID, unitCode: parentCode)
                candidates.append(toParent)
            }
        }
        return (candidates, followups)
    }

    private func loanChecks(_ day: CalendarDate, sender: String, expiry: ReminderExpiry, late: Bool, on connection: PostgresConnection) async throws -> [Candidate] {
        var candidates: [Candidate] = []
        let rows = try await query(PlannerSQL.loanChecks, day, on: connection)
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let loanCode = try cells[0].decode(String.self), principal = try cells[1].decode(Int.self)
            guard let disbursed = CalendarDate(iso: try cells[2].decode(String.self)),
                let checkBy = CalendarDate(iso: try cells[3].decode(String.self))
            else { continue }
            let borrower = try cells[4].decode(String.self), groupCode = try cells[5].decode(String.self)
            let groupName = try cells[6].decode(String.self)
            let communeID = try cells[9].decode(Int64.self), communeCode = try cells[10].decode(String.self)
            let communeContact = (name: try cells[12].decode(String.self), phone: try cells[13].decode(String.self))
            let text = ReminderTexts.loanUseCheck(
                sender: sender, loanCode: loanCode, borrowerName: borrower, groupName: groupName, principal: principal, disbursedOn: disbursed,
                checkBy: checkBy, late: late)
            func candidate(_ recipient: String, name: String, phone: String) -> Candidate {
                Candidate(key: "loan_check:\(loanCode):\(recipient)", kind: "loan_use_check", name: name, phone: phone,
                          unitID: communeID, unitCode: communeCode, text: text, expiresAt: expiry.loanCheck(checkBy: checkBy))
            }
            candidates.append(toLeader(
                candidate("group:\(groupCode)", name: try cells[7].decode(String.self), phone: try cells[8].decode(String.self)),
                groupName: groupName, communeContact: communeContact))
            var toCommune = candidate("unit:\(communeCode)", name: communeContact.name, phone: communeContact.phone)
            toCommune.digest = DigestEntry(
                topic: .loanChecks,
                line: ReminderTexts.loanCheckDigestLine(loanCode: loanCode, borrowerName: borrower, groupName: groupName, checkBy: checkBy),
                unitID: communeID, unitCode: communeCode)
            candidates.append(toCommune)
        }
        return candidates
    }

    private func reports(_ day: CalendarDate, sender: String, expiry: ReminderExpiry, late: Bool, on connection: PostgresConnection) async throws -> [Candidate] {
        var candidates: [Candidate] = []
        let rows = try await query(PlannerSQL.reports, day, on: connection)
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let typeCode = try cells[0].decode(String.self), typeName = try cells[1].decode(String.self)
            let period = try cells[2].decode(String.self)
            guard let due = CalendarDate(iso: try cells[3].decode(String.self)) else { continue }
            let daysToDue = try cells[4].decode(Int.self)
            let unitID = try cells[5].decode(Int64.self), unitCode = try cells[6].decode(String.self)
            let unitName = try cells[7].decode(String.self)
            let receiverName = try cells[12].decode(String?.self)
            func text(forReceiver: Bool) -> String {
                ReminderTexts.report(sender: sender, reportName: typeName, period: period, unitName: unitName, receiverName: receiverName,
                                     dueOn: due, daysToDue: daysToDue, forReceiver: forReceiver, late: late)
            }
            let line = ReminderTexts.reportDigestLine(
                reportName: typeName, period: period, unitName: unitName, dueOn: due, daysToDue: daysToDue, late: late)
            let step = daysToDue >= 0 ? "-\(daysToDue)d" : "+\(-daysToDue)d"
            let base = "report:\(typeCode):\(unitCode):\(period):\(step)"
            candidates.append(Candidate(
                key: "\(base):unit:\(unitCode)", kind: "report_deadline", name: try cells[8].decode(String.self),
                phone: try cells[9].decode(String.self), unitID: unitID, unitCode: unitCode,
                text: text(forReceiver: false), expiresAt: expiry.report(dueOn: due, daysToDue: daysToDue),
                digest: DigestEntry(topic: .reports(forReceiver: false), line: line, unitID: unitID, unitCode: unitCode)))
            if daysToDue < 0, let receiverID = try cells[10].decode(Int64?.self), let receiverCode = try cells[11].decode(String?.self) {
                candidates.append(Candidate(
                    key: "\(base):unit:\(receiverCode)", kind: "report_deadline", name: try cells[13].decode(String?.self) ?? "",
                    phone: try cells[14].decode(String?.self) ?? "", unitID: unitID, unitCode: unitCode,
                    text: text(forReceiver: true), expiresAt: expiry.report(dueOn: due, daysToDue: daysToDue),
                    digest: DigestEntry(topic: .reports(forReceiver: true), line: line, unitID: receiverID, unitCode: receiverCode)))
            }
        }
        return candidates
    }

    private func insertFollowups(_ followups: [(loan: Int64, dueOn: String, days: Int)], day: CalendarDate,
                                 on connection: PostgresConnection) async throws -> Int {
        guard !followups.isEmpty else { return 0 }
        var binds = PostgresBindings()
        binds.append(followups.map(\.loan), context: .default)
        binds.append(followups.map(\.dueOn), context: .default)
        binds.append(followups.map(\.days), context: .default)
        binds.append(day.iso)
        let sql = "WITH inserted AS (\(PlannerSQL.insertFollowups) RETURNING 1) SELECT count(*) FROM inserted"
        for try await count in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).decode(Int.self) {
            return count
        }
        return 0
    }
}

extension String {
    /// "Đoàn xã Thái Bình" → "xã Thái Bình": a unit's name as a place.
    var droppingUnitPrefix: String {
        hasPrefix("Đoàn ") ? String(dropFirst(5)) : self
    }
}

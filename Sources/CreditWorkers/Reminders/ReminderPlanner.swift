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
        /// Recipients with no phone on file: nothing can reach them; fix the data.
        public var withoutPhone: Int
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
            let reachable = candidates.filter { !$0.phone.trimmingSpaces.isEmpty }
            let created = try await write(reachable, day: day, deliverAfter: deliverAfter, on: connection)
            let followupsCreated = try await insertFollowups(followups, day: day, on: connection)
            return Report(
                planner: kind, day: day.iso, due: candidates.count, created: created,
                alreadyPlanned: reachable.count - created, withoutPhone: candidates.count - reachable.count,
                followupsCreated: followupsCreated, seconds: 0)
        }
        report.seconds = (ContinuousClock.now - started).seconds
        logger.info("Planned reminders", metadata: [
            "planner": "\(kind.rawValue)", "day": "\(day.iso)", "due": "\(report.due)", "created": "\(report.created)",
            "without_phone": "\(report.withoutPhone)",
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
    }

    private func sendingWindow(on connection: PostgresConnection) async throws -> SendingWindow {
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

    /// Writes outbox rows and their delivery jobs, due when the sending window next opens after
    /// `now`, on the caller's transaction. Returns how many rows are new.
    func write(_ candidates: [Candidate], day: CalendarDate, now: Date, on connection: PostgresConnection) async throws -> Int {
        let window = try await sendingWindow(on: connection)
        return try await write(candidates, day: day, deliverAfter: window.earliestDelivery(atOrAfter: now.timeIntervalSince1970),
                               on: connection)
    }

    private func write(_ candidates: [Candidate], day: CalendarDate, deliverAfter: Double, on connection: PostgresConnection) async throws -> Int {
        let created = try await insert(candidates, day: day, deliverAfter: deliverAfter, on: connection)
        // Each delivery carries its unit, so an operator of a district sees its own.
        let jobs = created.map {
            NewJob(kind: Self.deliveryKind, argsJSON: #"{"notification":\#($0.id)}"#, queue: Self.queue,
                   runAt: Date(timeIntervalSince1970: deliverAfter), maxAttempts: 25, meta: ["unit": $0.unitCode])
        }
        if !jobs.isEmpty { _ = try await jobQueue.enqueue(batch: jobs, on: connection) }
        return created.count
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
            guard let date = CalendarDate(iso: sessionOn) else { continue }
            let text = ReminderTexts.session(
                sender: sender,
                recipient: recipientType == "group" ? .groupLeader(groupName: groupName) : .communeUnion(communeUnitName: communeName),
                communePlace: communeName.droppingUnitPrefix, location: location, time: time, date: date, daysBefore: daysBefore,
                late: late)
            candidates.append(Candidate(
                key: "session:\(point):\(sessionOn):\(daysBefore)d:\(recipientType):\(recipientCode)", kind: "session_reminder",
                name: name, phone: phone, unitID: communeID, unitCode: communeCode, text: text,
                expiresAt: expiry.session(date: date, startMinutes: VietnameseFormat.minutes(time) ?? 0, daysBefore: daysBefore)))
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
            let communeFrom = try cells[20].decode(Int.self), parentFrom = try cells[21].decode(Int.self)
            guard let due = CalendarDate(iso: dueOn) else { continue }
            followups.append((loanID, dueOn, days))
            func add(_ recipient: String, _ role: ReminderTexts.OverdueRecipient, name: String, phone: String) {
                let text = ReminderTexts.overdue(
                    sender: sender, recipient: role, loanCode: loanCode, borrowerName: borrower, groupName: groupName, dueOn: due,
                    daysOverdue: days, outstanding: outstanding, late: late)
                candidates.append(Candidate(
                    key: "overdue:\(loanCode):\(dueOn):\(days)d:\(recipient)", kind: "overdue_followup",
                    name: name, phone: phone, unitID: communeID, unitCode: communeCode, text: text,
                    expiresAt: expiry.overdue(dueOn: due, daysOverdue: days)))
            }
            add("group:\(groupCode)", .groupLeader, name: try cells[8].decode(String.self), phone: try cells[9].decode(String.self))
            if days >= communeFrom {
                add("unit:\(communeCode)", .communeUnion, name: try cells[13].decode(String.self), phone: try cells[14].decode(String.self))
            }
            if days >= parentFrom, let parentCode = try cells[16].decode(String?.self) {
                add("unit:\(parentCode)", .parentUnit, name: try cells[18].decode(String?.self) ?? "",
                    phone: try cells[19].decode(String?.self) ?? "")
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
            let text = ReminderTexts.loanUseCheck(
                sender: sender, loanCode: loanCode, borrowerName: borrower, groupName: groupName, principal: principal, disbursedOn: disbursed,
                checkBy: checkBy, late: late)
            for (recipient, name, phone) in [
                ("group:\(groupCode)", try cells[7].decode(String.self), try cells[8].decode(String.self)),
                ("unit:\(communeCode)", try cells[12].decode(String.self), try cells[13].decode(String.self)),
            ] {
                candidates.append(Candidate(
                    key: "loan_check:\(loanCode):\(recipient)", kind: "loan_use_check", name: name, phone: phone,
                    unitID: communeID, unitCode: communeCode, text: text, expiresAt: expiry.loanCheck(checkBy: checkBy)))
            }
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
            let step = daysToDue >= 0 ? "-\(daysToDue)d" : "+\(-daysToDue)d"
            let base = "report:\(typeCode):\(unitCode):\(period):\(step)"
            candidates.append(Candidate(
                key: "\(base):unit:\(unitCode)", kind: "report_deadline", name: try cells[8].decode(String.self),
                phone: try cells[9].decode(String.self), unitID: unitID, unitCode: unitCode,
                text: text(forReceiver: false), expiresAt: expiry.report(dueOn: due, daysToDue: daysToDue)))
            if daysToDue < 0, let receiverCode = try cells[11].decode(String?.self) {
                candidates.append(Candidate(
                    key: "\(base):unit:\(receiverCode)", kind: "report_deadline", name: try cells[13].decode(String?.self) ?? "",
                    phone: try cells[14].decode(String?.self) ?? "", unitID: unitID, unitCode: unitCode,
                    text: text(forReceiver: true), expiresAt: expiry.report(dueOn: due, daysToDue: daysToDue)))
            }
        }
        return candidates
    }

    /// The ids of the rows that are new.
    private func insert(_ candidates: [Candidate], day: CalendarDate, deliverAfter: Double,
                        on connection: PostgresConnection) async throws -> [(id: Int64, unitCode: String)] {
        guard !candidates.isEmpty else { return [] }
        var binds = PostgresBindings()
        binds.append(candidates.map(\.key), context: .default)
        binds.append(candidates.map(\.kind), context: .default)
        binds.append(candidates.map(\.name), context: .default)
        binds.append(candidates.map(\.phone), context: .default)
        binds.append(candidates.map(\.unitID), context: .default)
        binds.append(candidates.map(\.unitCode), context: .default)
        binds.append(candidates.map(\.text), context: .default)
        binds.append(day.iso)
        binds.append(deliverAfter)
        binds.append(candidates.map(\.expiresAt), context: .default)
        let plain = candidates.map { SMSText.withoutDiacritics($0.text) }
        binds.append(plain, context: .default)
        binds.append(candidates.map { SMSText.segments($0.text).count }, context: .default)
        binds.append(plain.map { SMSText.segments($0).count }, context: .default)
        var created: [(id: Int64, unitCode: String)] = []
        let rows = try await connection.query(PostgresQuery(unsafeSQL: PlannerSQL.insertNotifications, binds: binds), logger: logger)
        for try await (id, unitCode) in rows.decode((Int64, String).self) { created.append((id, unitCode)) }
        return created.sorted { $0.id < $1.id }
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

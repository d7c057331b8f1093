public import CreditDomain
public import Foundation
public import JobQueue
public import Logging
public import PostgresNIO

/// Moves a point's session for one month (an override) and tells the people who were reminded
/// of the old day: its pending reminders expire, and if any reminder of it went out, the group
/// leaders and the commune contact get a notice with the old and the new day.
public struct SessionMoves: Sendable {
    public let client: PostgresClient
    public let registry: JobRegistry
    public let logger: Logger

    public init(client: PostgresClient, registry: JobRegistry, logger: Logger) {
        self.client = client
        self.registry = registry
        self.logger = logger
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknownPoint(String)
        public var description: String {
            switch self {
            case .unknownPoint(let code): "unknown point \(code)"
            }
        }
    }

    /// What a move did.
    public struct Outcome: Sendable, Codable, Equatable {
        public var point: String
        public var from: String
        public var to: String
        public var time: String
        /// Reminders of the old day not sent yet, now expired.
        public var remindersWithdrawn: Int
        /// Notices of the change planned (none when no reminder of the old day had gone out).
        public var noticesPlanned: Int
    }

    /// A session in a listing.
    public struct Session: Sendable, Codable, Equatable {
        public var date: String
        public var time: String
        public var point: String
        public var commune: String
        public var location: String
        /// Why it was moved, when it was.
        public var movedBecause: String?
    }

    /// Moves the session of `month` (its first day) at `pointCode` to `newDate` (and `time`).
    public func move(pointCode: String, month: CalendarDate, to newDate: CalendarDate, time: String?, reason: String, now: Date) async throws -> Outcome {
        try await client.inTransaction(logger: logger) { connection in
            let rows = try await connection.query("""
                SELECT p.id, p.location, c.id, c.code, c.name,
                       coalesce(o.session_on, (\(month.iso)::date + (least(p.session_day,
                           extract(day FROM (\(month.iso)::date + interval '1 month' - interval '1 day'))::int) - 1)))::text,
                       coalesce(o.session_time, p.session_time)::text, p.session_time::text
                FROM points p JOIN units c ON c.id = p.commune_id
                LEFT JOIN point_session_overrides o ON o.point_id = p.id AND o.month = \(month.iso)::date
                WHERE p.code = \(pointCode)
                FOR UPDATE OF p
                """, logger: logger)
            var found: (Int64, String, Int64, String, String, String, String, String)?
            for try await row in rows.decode((Int64, String, Int64, String, String, String, String, String).self) { found = row }
            guard let (pointID, location, communeID, communeCode, communeName, oldOn, oldTime, regularTime) = found,
                let oldDate = CalendarDate(iso: oldOn)
            else { throw Failure.unknownPoint(pointCode) }
            // HH:MM whether it came from the command line or the database (08:00 and 08:00:00 are one time).
            let newTime = String((time ?? regularTime).prefix(5))
            try await connection.query("""
                INSERT INTO point_session_overrides (point_id, month, session_on, session_time, reason)
                VALUES (\(pointID), \(month.iso)::date, \(newDate.iso)::date, \(time)::time, \(reason))
                ON CONFLICT (point_id, month) DO UPDATE
                SET session_on = excluded.session_on, session_time = excluded.session_time, reason = excluded.reason
                """, logger: logger)
            let oldPrefix = "session:\(pointCode):\(oldOn):"
            guard oldDate != newDate || oldTime.prefix(5) != newTime else {
                return Outcome(point: pointCode, from: oldOn, to: newDate.iso, time: newTime, remindersWithdrawn: 0, noticesPlanned: 0)
            }
            // Reminders of the old day that have not gone out would now be wrong.
            var withdrawn = 0
            for try await count in try await connection.query("""
                WITH withdrawn AS (
                    UPDATE notifications SET state = 'expired', last_error = 'the session moved to ' || \(newDate.iso)
                    WHERE state = 'pending' AND starts_with(idempotency_key, \(oldPrefix)) RETURNING 1
                )
                SELECT count(*)::int8 FROM withdrawn
                """, logger: logger).decode(Int64.self) { withdrawn = Int(count) }
            var alreadyTold = false
            for try await told in try await connection.query("""
                SELECT EXISTS (SELECT 1 FROM notifications WHERE state = 'sent' AND starts_with(idempotency_key, \(oldPrefix)))
                """, logger: logger).decode(Bool.self) { alreadyTold = told }
            guard alreadyTold else {
                return Outcome(point: pointCode, from: oldOn, to: newDate.iso, time: newTime, remindersWithdrawn: withdrawn, noticesPlanned: 0)
            }
            let planner = ReminderPlanner(client: client, registry: registry, logger: logger)
            let sender = try await planner.senderName(on: connection)
            let text = ReminderTexts.sessionMoved(
                sender: sender, communePlace: communeName.droppingUnitPrefix, location: location, from: oldDate, to: newDate, time: newTime)
            var candidates: [ReminderPlanner.Candidate] = []
            let recipients = try await connection.query("""
                SELECT 'group', code, leader_name, leader_phone FROM groups WHERE point_id = \(pointID)
                UNION ALL SELECT 'unit', code, contact_name, contact_phone FROM units WHERE id = \(communeID)
                ORDER BY 1, 2
                """, logger: logger)
            let startMinutes = VietnameseFormat.minutes(newTime) ?? 0
            for try await (type, code, name, phone) in recipients.decode((String, String, String, String).self)
            where !phone.trimmingCharacters(in: .whitespaces).isEmpty {
                candidates.append(ReminderPlanner.Candidate(
                    key: "session_changed:\(pointCode):\(month.iso):\(newDate.iso)T\(newTime):\(type):\(code)", kind: "session_changed",
                    name: name, phone: phone, unitID: communeID, unitCode: communeCode, text: text,
                    expiresAt: ReminderExpiry.moment(newDate, minutes: startMinutes)))
            }
            let planned = try await planner.write(candidates, day: CalendarDate(unixTime: now.timeIntervalSince1970), now: now, on: connection)
            return Outcome(point: pointCode, from: oldOn, to: newDate.iso, time: newTime, remindersWithdrawn: withdrawn, noticesPlanned: planned)
        }
    }

    /// Sessions between two days, of the points of `unitCode`'s subtree (every point without one).
    public func list(unitCode: String?, from: CalendarDate, to: CalendarDate) async throws -> [Session] {
        let rows = try await client.query("""
            WITH RECURSIVE scope (id) AS (
                SELECT id FROM units WHERE code = \(unitCode) OR \(unitCode)::text IS NULL
                UNION SELECT u.id FROM units u JOIN scope s ON u.parent_id = s.id
            ), months AS (
                SELECT generate_series(date_trunc('month', \(from.iso)::date) - interval '1 month',
                                       date_trunc('month', \(to.iso)::date), interval '1 month')::date AS month
            ), sessions AS (
                SELECT coalesce(o.session_on, (m.month + (least(p.session_day,
                           extract(day FROM (m.month + interval '1 month' - interval '1 day'))::int) - 1))::date) AS session_on,
                       coalesce(o.session_time, p.session_time) AS session_time, p.code, c.name, p.location, o.reason,
                       o.point_id IS NOT NULL AS moved
                FROM points p JOIN units c ON c.id = p.commune_id CROSS JOIN months m
                LEFT JOIN point_session_overrides o ON o.point_id = p.id AND o.month = m.month
                WHERE p.commune_id IN (SELECT id FROM scope)
            )
            SELECT session_on::text, to_char(session_time, 'HH24:MI'), code, name, location, CASE WHEN moved THEN reason END
            FROM sessions WHERE session_on BETWEEN \(from.iso)::date AND \(to.iso)::date
            ORDER BY session_on, session_time, code
            """, logger: logger)
        var sessions: [Session] = []
        for try await (date, time, point, commune, location, reason) in rows.decode((String, String, String, String, String, String?).self) {
            sessions.append(Session(date: date, time: time, point: point, commune: commune, location: location, movedBecause: reason))
        }
        return sessions
    }
}

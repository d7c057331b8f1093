import CreditDomain
import CreditWorkers
import Hummingbird
import Foundation
import Logging
import PostgresNIO

/// What `/api/v1/units/{code}/summary` and the dashboard show of a unit's subtree.
struct UnitSummary: Codable, Sendable, ResponseEncodable {
    struct Session: Codable, Sendable {
        var point: String
        var commune: String
        var location: String
        var date: String
        var time: String
    }

    struct Reports: Codable, Sendable {
        var open: Int
        var late: Int
        var submittedThisYear: Int
    }

    var unit: String
    var name: String
    var level: String
    var loans: UnitFigures.Loans?
    var nextSessions: [Session]
    var openFollowups: Int
    var reports: Reports
    var remindersSent30Days: Int
    var remindersFailed30Days: Int
    var updatedAt: Date?

    static func load(_ unit: UnitLookup.Unit, client: PostgresClient, logger: Logger) async throws -> UnitSummary {
        let today = JobKinds.vietnamToday().iso
        var summary = UnitSummary(unit: unit.code, name: unit.name, level: unit.level, loans: nil, nextSessions: [], openFollowups: 0,
                                  reports: Reports(open: 0, late: 0, submittedThisYear: 0), remindersSent30Days: 0,
                                  remindersFailed30Days: 0, updatedAt: nil)
        let counts = try await client.query("""
            WITH RECURSIVE subtree (id) AS (
                SELECT \(unit.id)::bigint UNION ALL SELECT u.id FROM units u JOIN subtree s ON u.parent_id = s.id
            )
            SELECT
                (SELECT count(*) FROM followups f JOIN loans l ON l.id = f.loan_id JOIN borrowers b ON b.id = l.borrower_id
                 JOIN groups g ON g.id = b.group_id WHERE g.commune_id IN (SELECT id FROM subtree) AND f.outcome IS NULL),
                (SELECT count(*) FROM report_obligations o WHERE o.unit_id IN (SELECT id FROM subtree) AND o.submitted_on IS NULL),
                (SELECT count(*) FROM report_obligations o WHERE o.unit_id IN (SELECT id FROM subtree) AND o.submitted_on IS NULL
                     AND o.due_on < \(today)::date),
                (SELECT count(*) FROM report_obligations o WHERE o.unit_id IN (SELECT id FROM subtree)
                     AND extract(year FROM o.submitted_on) = extract(year FROM \(today)::date)),
                (SELECT count(*) FROM notifications n WHERE n.unit_id IN (SELECT id FROM subtree) AND n.state = 'sent'
                     AND n.created_at > now() - interval '30 days'),
                (SELECT count(*) FROM notifications n WHERE n.unit_id IN (SELECT id FROM subtree) AND n.state = 'failed'
                     AND n.created_at > now() - interval '30 days'),
                (SELECT max(updated_at) FROM coverage WHERE unit_id = \(unit.id))
            """, logger: logger)
        for try await (followups, open, late, submitted, sent, failed, updated) in counts.decode((Int, Int, Int, Int, Int, Int, Date?).self) {
            summary.openFollowups = followups
            summary.reports = Reports(open: open, late: late, submittedThisYear: submitted)
            summary.remindersSent30Days = sent
            summary.remindersFailed30Days = failed
            summary.updatedAt = updated
        }
        let sessions = try await client.query("""
            WITH RECURSIVE subtree (id) AS (
                SELECT \(unit.id)::bigint UNION ALL SELECT u.id FROM units u JOIN subtree s ON u.parent_id = s.id
            ), months AS (
                SELECT date_trunc('month', \(today)::date)::date AS month
                UNION ALL SELECT (date_trunc('month', \(today)::date) + interval '1 month')::date
            ), sessions AS (
                SELECT p.code, c.name AS commune, p.location,
                       coalesce(o.session_on, (m.month + (least(p.session_day,
                           extract(day FROM (m.month + interval '1 month' - interval '1 day'))::int) - 1))::date) AS session_on,
                       coalesce(o.session_time, p.session_time) AS session_time
                FROM points p JOIN units c ON c.id = p.commune_id CROSS JOIN months m
                LEFT JOIN point_session_overrides o ON o.point_id = p.id AND o.month = m.month
                WHERE p.commune_id IN (SELECT id FROM subtree)
            )
            SELECT code, commune, location, session_on::text, to_char(session_time, 'HH24:MI') FROM sessions
            WHERE session_on >= \(today)::date ORDER BY session_on, code LIMIT 10
            """, logger: logger)
        for try await (point, commune, location, date, time) in sessions.decode((String, String, String, String, String).self) {
            summary.nextSessions.append(Session(point: point, commune: commune, location: location, date: date, time: time))
        }
        summary.loans = try await AggregateReader(client: client, logger: logger).loans(unitID: unit.id)
        return summary
    }
}

import CreditDomain
import Foundation
import Logging
import PostgresNIO

/// What a commune's page adds to a unit's dashboard: its groups with what each still needs this
/// year, and its overdue loans with each one's latest follow-up.
struct CommuneDetails: Sendable {
    struct Group: Sendable {
        var code: String
        var name: String
        var leader: String
        var point: String
        var borrowers: Int
        var lastInspection: CalendarDate?
        /// This year's coverage item of the group: borrowers to inspect and inspected (aggregates).
        var required: Int?
        var done: Int?
        var status: String?
    }

    struct OverdueLoan: Sendable {
        var code: String
        var borrower: String
        var group: String
        var outstanding: Int
        var dueOn: CalendarDate
        var daysOverdue: Int
        var status: String
        /// The latest follow-up (its id, for the form that records its outcome), its step (days
        /// past due it was planned for) and what came of it.
        var followupID: Int64?
        var step: Int?
        var outcome: String?
        var promisedOn: CalendarDate?
        var note: String
    }

    /// A loan disbursed lately whose use nobody has checked yet.
    struct LoanToCheck: Sendable {
        var code: String
        var borrower: String
        var group: String
        var program: String
        var disbursedOn: CalendarDate
    }

    var groups: [Group]
    var overdueLoans: [OverdueLoan]
    var loansToCheck: [LoanToCheck]
    /// The day after disbursement from which a check is reminded (reminder settings).
    var checkAfterDays: Int
    /// More overdue loans than the page lists.
    var moreOverdue: Bool

    static let overdueListed = 200
    /// Loans disbursed within this many days are listed for a use check.
    static let checkWindowDays = 90

    static func load(unitCode: String, year: Int, today: CalendarDate, client: PostgresClient, logger: Logger) async throws -> CommuneDetails {
        var groups: [Group] = []
        let groupRows = try await client.query(
            """
            SELECT g.code, g.name, g.leader_name, p.code || CASE WHEN p.location <> '' THEN ' (' || p.location || ')' ELSE '' END,
                   (SELECT count(*) FROM borrowers b WHERE b.group_id = g.id)::int8,
                   (SELECT max(i.inspected_on)::text FROM inspections i JOIN inspected_borrowers ib ON ib.inspection_id = i.id
                    JOIN borrowers b ON b.id = ib.borrower_id WHERE b.group_id = g.id),
                   c.required::int8, c.done::int8, c.status::text
            FROM units u JOIN groups g ON g.commune_id = u.id JOIN points p ON p.id = g.point_id
            LEFT JOIN coverage_items c ON c.unit_id = u.id AND c.year = \(year) AND c.item_code = g.code
            WHERE u.code = \(unitCode)
            ORDER BY g.code
            """, logger: logger)
        for try await (code, name, leader, point, borrowers, last, required, done, status) in groupRows.decode(
            (String, String, String, String, Int64, String?, Int64?, Int64?, String?).self)
        {
            groups.append(Group(
                code: code, name: name, leader: leader, point: point, borrowers: Int(borrowers),
                lastInspection: last.flatMap(CalendarDate.init(iso:)), required: required.map(Int.init), done: done.map(Int.init), status: status))
        }
        var loans: [OverdueLoan] = []
        let loanRows = try await client.query(
            """
            SELECT l.code, b.name, g.name, l.outstanding, l.due_on::text, (\(today.iso)::date - l.due_on)::int8, l.status::text,
                   f.id, f.overdue_days::int8, f.outcome::text, f.promised_on::text, coalesce(f.note, '')
            FROM units u JOIN groups g ON g.commune_id = u.id JOIN borrowers b ON b.group_id = g.id JOIN loans l ON l.borrower_id = b.id
            LEFT JOIN LATERAL (SELECT * FROM followups f WHERE f.loan_id = l.id ORDER BY f.due_on DESC, f.overdue_days DESC LIMIT 1) f ON true
            WHERE u.code = \(unitCode) AND l.outstanding > 0 AND l.due_on < \(today.iso)::date
            ORDER BY l.due_on, l.code
            LIMIT \(overdueListed + 1)
            """, logger: logger)
        for try await (code, borrower, group, outstanding, due, days, status, followup, step, outcome, promised, note) in loanRows.decode(
            (String, String, String, Int64, String, Int64, String, Int64?, Int64?, String?, String?, String).self)
        {
            loans.append(OverdueLoan(
                code: code, borrower: borrower, group: group, outstanding: Int(outstanding), dueOn: CalendarDate(iso: due)!,
                daysOverdue: Int(days), status: status, followupID: followup, step: step.map(Int.init), outcome: outcome,
                promisedOn: promised.flatMap(CalendarDate.init(iso:)), note: note))
        }
        var toCheck: [LoanToCheck] = [], checkAfter = 20
        let checkRows = try await client.query(
            """
            SELECT l.code, b.name, g.name, l.program, l.disbursed_on::text, (SELECT loan_check_after_days::int8 FROM reminder_settings)
            FROM units u JOIN groups g ON g.commune_id = u.id JOIN borrowers b ON b.group_id = g.id JOIN loans l ON l.borrower_id = b.id
            WHERE u.code = \(unitCode) AND l.use_checked_on IS NULL AND l.status = 'normal'
              AND l.disbursed_on > \(today.iso)::date - \(checkWindowDays)::int AND l.disbursed_on <= \(today.iso)::date
            ORDER BY l.disbursed_on, l.code
            LIMIT \(overdueListed)
            """, logger: logger)
        for try await (code, borrower, group, program, disbursed, after) in checkRows.decode((String, String, String, String, String, Int64?).self) {
            toCheck.append(LoanToCheck(code: code, borrower: borrower, group: group, program: program, disbursedOn: CalendarDate(iso: disbursed)!))
            checkAfter = after.map(Int.init) ?? checkAfter
        }
        let more = loans.count > overdueListed
        return CommuneDetails(
            groups: groups, overdueLoans: Array(loans.prefix(overdueListed)), loansToCheck: toCheck, checkAfterDays: checkAfter, moreOverdue: more)
    }
}

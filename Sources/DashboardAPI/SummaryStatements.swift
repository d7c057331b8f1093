import Foundation
import PostgresNIO

// The queries behind every summary and dashboard request, prepared once per connection: their
// recursive CTEs cost more to plan (about 3 ms) than to run (under 1 ms).

/// A unit by code, and whether it lies in the subtree of the token's unit.
struct UnitInScopeStatement: PostgresPreparedStatement {
    static let sql = """
        WITH RECURSIVE up (id, parent_id) AS (
            SELECT id, parent_id FROM units WHERE code = $1
            UNION ALL
            SELECT u.id, u.parent_id FROM units u JOIN up ON u.id = up.parent_id
        )
        SELECT u.id, u.code, u.name, u.level::text, EXISTS (SELECT 1 FROM up WHERE up.id = $2)
        FROM units u WHERE u.code = $1
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .int8]
    typealias Row = (Int64, String, String, String, Bool)

    let code: String
    let scopeUnitID: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(code)
        bindings.append(scopeUnitID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

/// Everything the summary shows of a unit's subtree, in one round trip: the unit (by code, `$1`),
/// whether it lies within the token's unit (`$2`), and the summary itself as the API's JSON —
/// built by PostgreSQL, so the API passes it on without decoding and re-encoding it (that was
/// most of a request's CPU); `$3` is today in Vietnam (YYYY-MM-DD).
struct SummaryStatement: PostgresPreparedStatement {
    static let sql = """
        WITH RECURSIVE target AS (
            SELECT id, code, name, level FROM units WHERE code = $1
        ), up (id, parent_id, depth) AS (
            SELECT u.id, u.parent_id, 0 FROM units u JOIN target t ON t.id = u.id
            UNION ALL
            SELECT u.id, u.parent_id, up.depth + 1 FROM units u JOIN up ON u.id = up.parent_id WHERE up.depth < 16
        ), visible AS (
            SELECT EXISTS (SELECT 1 FROM up WHERE up.id = $2) AS yes
        ), subtree (id) AS (
            -- Empty outside the token's units: a refused request costs no aggregate over them.
            SELECT id FROM target WHERE (SELECT yes FROM visible)
            UNION ALL SELECT u.id FROM units u JOIN subtree s ON u.parent_id = s.id
        ), months AS (
            -- Last month too: its session may have been moved into this month.
            SELECT (date_trunc('month', $3::date) - interval '1 month')::date AS month
            UNION ALL SELECT date_trunc('month', $3::date)::date
            UNION ALL SELECT (date_trunc('month', $3::date) + interval '1 month')::date
        ), sessions AS (
            SELECT p.code, c.name AS commune, c.code AS commune_code, p.location, m.month,
                   coalesce(o.session_on, (m.month + (least(p.session_day,
                       extract(day FROM (m.month + interval '1 month' - interval '1 day'))::int) - 1))::date) AS session_on,
                   coalesce(o.session_time, p.session_time) AS session_time
            FROM points p JOIN units c ON c.id = p.commune_id CROSS JOIN months m
            LEFT JOIN point_session_overrides o ON o.point_id = p.id AND o.month = m.month
            WHERE p.commune_id IN (SELECT id FROM subtree)
        ), next_sessions AS (
            SELECT * FROM sessions WHERE session_on >= $3::date ORDER BY session_on, code LIMIT 10
        )
        SELECT t.id, (SELECT yes FROM visible), json_build_object(
            'unit', t.code, 'name', t.name, 'level', t.level,
            -- The way down from the token's unit to this one (the dashboard's breadcrumb).
            'path', (SELECT coalesce(json_agg(json_build_object('code', u.code, 'name', u.name) ORDER BY up.depth DESC), '[]')
                     FROM up JOIN units u ON u.id = up.id
                     WHERE up.depth <= (SELECT min(depth) FROM up WHERE up.id = $2)),
            -- Loans still to be followed up: overdue today, still followed (not risk or restructured),
            -- and no outcome recorded for their latest step. Every old step without an outcome
            -- counted once, so the figure only grew.
            'openFollowups',
            (SELECT count(DISTINCT f.loan_id) FROM followups f JOIN loans l ON l.id = f.loan_id
             JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id
             WHERE g.commune_id IN (SELECT id FROM subtree) AND f.outcome IS NULL
               AND l.outstanding > 0 AND l.status = 'normal' AND l.due_on = f.due_on AND l.due_on < $3::date
               AND NOT EXISTS (SELECT 1 FROM followups later
                               WHERE later.loan_id = f.loan_id AND later.due_on = f.due_on AND later.overdue_days > f.overdue_days)),
            'reports', (SELECT json_build_object(
                                'open', count(*) FILTER (WHERE o.submitted_on IS NULL),
                                'late', count(*) FILTER (WHERE o.submitted_on IS NULL AND o.due_on < $3::date),
                                'submittedThisYear', count(*) FILTER (WHERE extract(year FROM o.submitted_on) = extract(year FROM $3::date)))
                        FROM report_obligations o WHERE o.unit_id IN (SELECT id FROM subtree)),
            'remindersSent30Days', reminders.sent,
            'remindersFailed30Days', reminders.failed,
            'remindersExpired30Days', reminders.expired,
            'remindersLate30Days', reminders.late,
            'remindersOptedOut30Days', reminders.opted_out,
            'updatedAt', (SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                          FROM coverage c WHERE c.unit_id = t.id),
            'loans', CASE WHEN f.unit_id IS NULL THEN NULL ELSE json_build_object(
                'asOf', f.as_of::text, 'loans', f.loans, 'outstanding', f.outstanding, 'overdueLoans', f.overdue_loans,
                'overdueAmount', f.overdue_amount, 'overdueRatio', f.overdue_ratio::float8, 'members', f.members,
                'savers', f.savers, 'savingsParticipation', f.savings_participation::float8,
                'updatedAt', to_char(f.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END,
            'nextSessions',
            (SELECT coalesce(json_agg(json_build_object('point', code, 'commune', commune, 'location', location,
                                                       'communeCode', commune_code, 'month', to_char(month, 'YYYY-MM'),
                                                       'date', session_on::text, 'time', to_char(session_time, 'HH24:MI'))
                                      ORDER BY session_on, code), '[]')
             FROM next_sessions),
            'openReports',
            (SELECT coalesce(json_agg(json_build_object('id', r.id, 'report', r.name, 'unit', r.unit, 'unitCode', r.unit_code, 'period', r.period,
                                                       'due', r.due_on::text, 'daysLate', greatest(0, $3::date - r.due_on))
                                      ORDER BY r.due_on, r.unit), '[]')
             FROM (SELECT o.id, t.name, u.name AS unit, u.code AS unit_code, o.period, o.due_on
                   FROM report_obligations o JOIN report_types t ON t.id = o.report_type_id JOIN units u ON u.id = o.unit_id
                   WHERE o.unit_id IN (SELECT id FROM subtree) AND o.submitted_on IS NULL
                   ORDER BY o.due_on, u.name LIMIT 10) AS r)
        )::text
        FROM target t LEFT JOIN loan_figures f ON f.unit_id = t.id
        CROSS JOIN (SELECT count(*) FILTER (WHERE n.state = 'sent') AS sent, count(*) FILTER (WHERE n.state = 'failed') AS failed,
                           count(*) FILTER (WHERE n.state = 'expired') AS expired,
                           count(*) FILTER (WHERE n.late AND n.state = 'sent') AS late,
                           count(*) FILTER (WHERE n.state = 'opted_out') AS opted_out
                    FROM notifications n
                    WHERE n.unit_id IN (SELECT id FROM subtree) AND n.created_at > now() - interval '30 days') AS reminders
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .int8, .text]
    typealias Row = (Int64, Bool, String)

    let code: String
    let scopeUnitID: Int64
    let today: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(code)
        bindings.append(scopeUnitID)
        bindings.append(today)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

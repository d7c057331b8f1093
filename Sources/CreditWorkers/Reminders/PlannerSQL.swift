/// What each reminder planner finds due on a day (`$1`, a date). One row per (reminder,
/// recipient candidate); the planner drops recipients without a phone and renders the texts.
/// Days follow `reminder_settings`.
enum PlannerSQL {
    /// Sessions `session_days_before` ahead, at the session day of last month, this month or the
    /// next (an override wins, and may move a month's session into the next month or year; a day
    /// past the month's end falls on its last day, D5), to every group leader attending the point
    /// and to the commune's contact (who stands in for a leader without a phone).
    static let sessions = """
        WITH months AS (
            SELECT (date_trunc('month', $1::date) - interval '1 month')::date AS month
            UNION ALL SELECT date_trunc('month', $1::date)::date
            UNION ALL SELECT (date_trunc('month', $1::date) + interval '1 month')::date
        ), sessions AS (
            SELECT p.id AS point_id, p.code AS point_code, p.location, p.commune_id,
                   coalesce(o.session_on,
                            (m.month + (least(p.session_day,
                                              extract(day FROM (m.month + interval '1 month' - interval '1 day'))::int) - 1))::date) AS session_on,
                   coalesce(o.session_time, p.session_time) AS session_time
            FROM points p CROSS JOIN months m
            LEFT JOIN point_session_overrides o ON o.point_id = p.id AND o.month = m.month
        ), due AS (
            SELECT s.*, (s.session_on - $1::date) AS days_before
            FROM sessions s CROSS JOIN reminder_settings r
            WHERE (s.session_on - $1::date) = ANY(r.session_days_before)
        )
        SELECT d.point_code, d.session_on::text, d.session_time::text, d.location, d.days_before,
               c.id, c.code, c.name, 'group', g.code, g.name, g.leader_name, g.leader_phone, c.contact_name, c.contact_phone
        FROM due d JOIN units c ON c.id = d.commune_id JOIN groups g ON g.point_id = d.point_id
        UNION ALL
        SELECT d.point_code, d.session_on::text, d.session_time::text, d.location, d.days_before,
               c.id, c.code, c.name, 'unit', c.code, c.name, c.contact_name, c.contact_phone, c.contact_name, c.contact_phone
        FROM due d JOIN units c ON c.id = d.commune_id
        ORDER BY 1, 9, 10
        """

    /// Loans overdue on an escalation day: `overdue_days`, then every `overdue_repeat_days`
    /// after the last; only loans still owing and not marked risk or restructured.
    static let overdue = """
        SELECT l.id, l.code, l.due_on::text, ($1::date - l.due_on) AS days, l.outstanding, b.name,
               g.code, g.name, g.leader_name, g.leader_phone,
               c.id, c.code, c.name, c.contact_name, c.contact_phone,
               p.id, p.code, p.name, p.contact_name, p.contact_phone,
               r.overdue_commune_from, r.overdue_parent_from
        FROM loans l
        CROSS JOIN reminder_settings r
        JOIN borrowers b ON b.id = l.borrower_id
        JOIN groups g ON g.id = b.group_id
        JOIN units c ON c.id = g.commune_id
        LEFT JOIN units p ON p.id = c.parent_id
        WHERE l.outstanding > 0 AND l.status = 'normal' AND l.due_on < $1::date
          AND (($1::date - l.due_on) = ANY(r.overdue_days)
               OR (($1::date - l.due_on) > (SELECT max(d) FROM unnest(r.overdue_days) AS d)
                   AND (($1::date - l.due_on) - (SELECT max(d) FROM unnest(r.overdue_days) AS d)) % r.overdue_repeat_days = 0))
        ORDER BY l.code
        """

    /// Loans disbursed `loan_check_after_days` ago with no loan-use check recorded.
    static let loanChecks = """
        SELECT l.code, l.principal, l.disbursed_on::text, (l.disbursed_on + r.loan_check_due_days)::text, b.name,
               g.code, g.name, g.leader_name, g.leader_phone,
               c.id, c.code, c.name, c.contact_name, c.contact_phone
        FROM loans l
        CROSS JOIN reminder_settings r
        JOIN borrowers b ON b.id = l.borrower_id
        JOIN groups g ON g.id = b.group_id
        JOIN units c ON c.id = g.commune_id
        WHERE l.disbursed_on = $1::date - r.loan_check_after_days AND l.use_checked_on IS NULL AND l.status = 'normal'
        ORDER BY l.code
        """

    /// Open report obligations `report_days_before` their due date, or on day 1 after it and
    /// every `report_repeat_days` after that, with the unit that receives the report.
    static let reports = """
        SELECT t.code, t.name, o.period, o.due_on::text, (o.due_on - $1::date) AS days_to_due,
               u.id, u.code, u.name, u.contact_name, u.contact_phone,
               rcv.id, rcv.code, rcv.name, rcv.contact_name, rcv.contact_phone
        FROM report_obligations o
        CROSS JOIN reminder_settings r
        JOIN report_types t ON t.id = o.report_type_id
        JOIN units u ON u.id = o.unit_id
        LEFT JOIN units rcv ON rcv.id = coalesce(t.receiving_unit_id, u.parent_id)
        WHERE o.submitted_on IS NULL
          AND ((o.due_on - $1::date) = ANY(r.report_days_before)
               OR ($1::date > o.due_on AND (($1::date - o.due_on) - 1) % r.report_repeat_days = 0))
        ORDER BY t.code, u.code, o.period
        """

    static let window = "SELECT extract(epoch FROM send_from)::int / 60, extract(epoch FROM send_until)::int / 60 FROM reminder_settings"

    /// The days the reminders follow, for their expiry.
    static let schedule = """
        SELECT session_days_before, overdue_days, overdue_repeat_days, report_days_before, report_repeat_days,
               extract(epoch FROM send_from)::int / 60
        FROM reminder_settings
        """

    /// Writes the outbox rows, each `pending` or `opted_out`; returns the new ones (a key seen
    /// before adds nothing).
    static let insertNotifications = """
        INSERT INTO notifications (idempotency_key, kind, recipient_name, recipient_phone, unit_id, unit_code, text,
                                   planned_for, deliver_after, expires_at, text_plain, sms_segments, sms_segments_plain, state, late)
        SELECT key, kind::notification_kind, name, phone, unit_id, unit_code, text, $8::date, to_timestamp($9::float8),
               to_timestamp(expires), plain, segments, segments_plain, state::notification_state, $15::boolean
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $10::float8[],
                    $11::text[], $12::int[], $13::int[], $14::text[])
             AS n (key, kind, name, phone, unit_id, unit_code, text, expires, plain, segments, segments_plain, state)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id, idempotency_key, state::text
        """

    /// Folds new rows into the digests that carry them (pairs of digest and item ids).
    static let foldIntoDigests = """
        UPDATE notifications n SET state = 'digested', digest_id = f.digest
        FROM unnest($1::bigint[], $2::bigint[]) AS f (digest, item)
        WHERE n.id = f.item AND n.state = 'pending'
        """

    static let insertFollowups = """
        INSERT INTO followups (loan_id, due_on, overdue_days, planned_on)
        SELECT loan_id, due_on::date, days, $4::date FROM unnest($1::bigint[], $2::text[], $3::int[]) AS f (loan_id, due_on, days)
        ON CONFLICT (loan_id, due_on, overdue_days) DO NOTHING
        """
}

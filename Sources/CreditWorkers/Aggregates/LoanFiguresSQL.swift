/// Loan figures: from the records for communes, summed from the communes below for every other
/// unit. `$1` the units (bigint[]), `$2::date` the day overdue is counted on.
enum LoanFiguresSQL {
    static let communes = """
        INSERT INTO loan_figures (unit_id, as_of, loans, outstanding, overdue_loans, overdue_amount, members, savers, updated_at)
        SELECT c.id, $2::date, coalesce(l.loans, 0), coalesce(l.outstanding, 0), coalesce(l.overdue_loans, 0),
               coalesce(l.overdue_amount, 0), coalesce(m.members, 0), coalesce(m.savers, 0), now()
        FROM units c
        LEFT JOIN (SELECT g.commune_id, count(*) AS loans, sum(l.outstanding) AS outstanding,
                          count(*) FILTER (WHERE l.due_on < $2::date AND l.outstanding > 0) AS overdue_loans,
                          sum(l.outstanding) FILTER (WHERE l.due_on < $2::date AND l.outstanding > 0) AS overdue_amount
                   FROM groups g JOIN borrowers b ON b.group_id = g.id JOIN loans l ON l.borrower_id = b.id
                   WHERE g.commune_id = ANY($1)
                   GROUP BY 1) AS l ON l.commune_id = c.id
        LEFT JOIN (SELECT g.commune_id, count(*) AS members, count(*) FILTER (WHERE b.savings_balance > 0) AS savers
                   FROM groups g JOIN borrowers b ON b.group_id = g.id
                   WHERE g.commune_id = ANY($1)
                   GROUP BY 1) AS m ON m.commune_id = c.id
        WHERE c.id = ANY($1) AND c.level = 'commune'
        ON CONFLICT (unit_id) DO UPDATE
            SET as_of = excluded.as_of, loans = excluded.loans, outstanding = excluded.outstanding,
                overdue_loans = excluded.overdue_loans, overdue_amount = excluded.overdue_amount,
                members = excluded.members, savers = excluded.savers, updated_at = excluded.updated_at
        """

    static let rollUp = """
        WITH RECURSIVE down (top, unit) AS (
            SELECT id, id FROM units WHERE id = ANY($1) AND level <> 'commune'
            UNION ALL
            SELECT d.top, u.id FROM down d JOIN units u ON u.parent_id = d.unit
        )
        INSERT INTO loan_figures (unit_id, as_of, loans, outstanding, overdue_loans, overdue_amount, members, savers, updated_at)
        SELECT d.top, $2::date, coalesce(sum(f.loans), 0), coalesce(sum(f.outstanding), 0), coalesce(sum(f.overdue_loans), 0),
               coalesce(sum(f.overdue_amount), 0), coalesce(sum(f.members), 0), coalesce(sum(f.savers), 0), now()
        FROM down d
        LEFT JOIN units c ON c.id = d.unit AND c.level = 'commune'
        LEFT JOIN loan_figures f ON f.unit_id = c.id
        GROUP BY d.top
        ON CONFLICT (unit_id) DO UPDATE
            SET as_of = excluded.as_of, loans = excluded.loans, outstanding = excluded.outstanding,
                overdue_loans = excluded.overdue_loans, overdue_amount = excluded.overdue_amount,
                members = excluded.members, savers = excluded.savers, updated_at = excluded.updated_at
        """
}

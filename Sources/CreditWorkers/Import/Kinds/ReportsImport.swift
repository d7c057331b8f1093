extension ImportPlan {
    /// The period an obligation is for: the year, quarter or month its due date falls in, by the
    /// frequency of its type. Re-importing a corrected due date updates the same obligation.
    private static let period = """
        CASE t.frequency WHEN 'yearly' THEN to_char(s.due_on, 'YYYY')
                         WHEN 'quarterly' THEN to_char(s.due_on, 'YYYY-"Q"Q')
                         ELSE to_char(s.due_on, 'YYYY-MM') END
        """

    private static let resolvedReports = """
        WITH resolved AS (
            SELECT t.id AS report_type_id, u.id AS unit_id, \(period) AS period, s.due_on, s.submitted_on
            FROM staged s JOIN report_types t ON t.code = s.report_code JOIN units u ON u.code = s.unit_code
        )
        """

    static let reports = ImportPlan(
        checks: [
            unknown("report type", column: "report_code", table: "report_types"),
            unknown("unit", column: "unit_code", table: "units"),
            """
            SELECT s.line, 'unit_code', format('report %s is submitted by %s units, and %s is a %s', t.code, t.submitting_level, u.code, u.level)
            FROM staged s JOIN report_types t ON t.code = s.report_code JOIN units u ON u.code = s.unit_code
            WHERE u.level <> t.submitting_level
            """,
            """
            SELECT line, 'due_on', format('report %s of unit %s for period %s is listed twice (first on line %s)', report_code, unit_code, period, first_line)
            FROM (SELECT s.line, s.report_code, s.unit_code, \(period) AS period,
                         min(s.line) OVER (PARTITION BY s.report_code, s.unit_code, \(period)) AS first_line
                  FROM staged s JOIN report_types t ON t.code = s.report_code
                  WHERE s.unit_code IS NOT NULL AND s.due_on IS NOT NULL) AS repeated
            WHERE line > first_line
            """,
        ],
        counts: resolvedReports + """
            SELECT count(*) FILTER (WHERE o.id IS NULL),
                   count(*) FILTER (WHERE o.id IS NOT NULL AND (o.due_on, o.submitted_on) IS DISTINCT FROM (r.due_on, r.submitted_on)),
                   0
            FROM resolved r
            LEFT JOIN report_obligations o
                ON (o.report_type_id, o.unit_id, o.period) = (r.report_type_id, r.unit_id, r.period)
            """,
        merge: [
            resolvedReports + """
            INSERT INTO report_obligations (report_type_id, unit_id, period, due_on, submitted_on)
            SELECT report_type_id, unit_id, period, due_on, submitted_on FROM resolved
            ON CONFLICT (report_type_id, unit_id, period) DO UPDATE
                SET due_on = excluded.due_on, submitted_on = excluded.submitted_on
                WHERE (report_obligations.due_on, report_obligations.submitted_on)
                      IS DISTINCT FROM (excluded.due_on, excluded.submitted_on)
            """
        ],
        tables: ["report_obligations"]
    )
}

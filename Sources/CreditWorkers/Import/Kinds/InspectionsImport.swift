extension ImportPlan {
    /// One row per (inspection, borrower checked). The file is the truth for every inspection it
    /// names: a borrower no longer listed under one is removed from it.
    private static let resolvedChecks = """
        WITH resolved AS (
            SELECT s.inspection_code, i.id AS inspector_unit_id, s.inspected_on, b.id AS borrower_id
            FROM staged s JOIN units i ON i.code = s.inspector_unit_code JOIN borrowers b ON b.code = s.borrower_code
        )
        """

    private static let dropped = """
        FROM inspected_borrowers ib JOIN inspections x ON x.id = ib.inspection_id
        WHERE x.code IN (SELECT inspection_code FROM staged)
          AND NOT EXISTS (SELECT 1 FROM staged s JOIN borrowers b ON b.code = s.borrower_code
                          WHERE s.inspection_code = x.code AND b.id = ib.borrower_id)
        """

    private static let merge = [
        """
        INSERT INTO inspections (code, inspector_unit_id, inspected_on)
        SELECT DISTINCT ON (s.inspection_code) s.inspection_code, i.id, s.inspected_on
        FROM staged s JOIN units i ON i.code = s.inspector_unit_code
        ORDER BY s.inspection_code, s.line
        ON CONFLICT (code) DO UPDATE
            SET inspector_unit_id = excluded.inspector_unit_id, inspected_on = excluded.inspected_on
            WHERE (inspections.inspector_unit_id, inspections.inspected_on)
                  IS DISTINCT FROM (excluded.inspector_unit_id, excluded.inspected_on)
        """,
        "DELETE FROM inspected_borrowers AS gone USING (SELECT ib.inspection_id, ib.borrower_id \(dropped)) AS d "
            + "WHERE (gone.inspection_id, gone.borrower_id) = (d.inspection_id, d.borrower_id)",
        """
        INSERT INTO inspected_borrowers (inspection_id, borrower_id)
        SELECT x.id, b.id
        FROM staged s JOIN inspections x ON x.code = s.inspection_code JOIN borrowers b ON b.code = s.borrower_code
        ON CONFLICT DO NOTHING
        """,
    ]

    static let inspections = ImportPlan(
        checks: [
            duplicates(of: ["inspection_code", "borrower_code"], column: "borrower_code",
                       describe: "'inspection %s lists borrower %s twice'"),
            """
            SELECT line, CASE WHEN inspector_unit_code <> first_inspector THEN 'inspector_unit_code' ELSE 'inspected_on' END,
                   format('inspection %s has inspector %s on %s on line %s; every row of one inspection must agree',
                          inspection_code, first_inspector, first_date, first_line)
            FROM (SELECT line, inspection_code, inspector_unit_code, inspected_on,
                         first_value(inspector_unit_code) OVER w AS first_inspector,
                         first_value(inspected_on) OVER w AS first_date,
                         first_value(line) OVER w AS first_line
                  FROM staged
                  WHERE inspection_code IS NOT NULL AND inspector_unit_code IS NOT NULL AND inspected_on IS NOT NULL
                  WINDOW w AS (PARTITION BY inspection_code ORDER BY line)) AS checked
            WHERE inspector_unit_code <> first_inspector OR inspected_on <> first_date
            """,
            unknown("unit", column: "inspector_unit_code", table: "units"),
            unknown("group", column: "group_code", table: "groups"),
            """
            SELECT s.line, 'borrower_code',
                   CASE WHEN b.id IS NULL THEN format('unknown borrower %s', s.borrower_code)
                        ELSE format('borrower %s is in group %s, not %s', s.borrower_code, bg.code, s.group_code) END
            FROM staged s LEFT JOIN borrowers b ON b.code = s.borrower_code LEFT JOIN groups bg ON bg.id = b.group_id
            WHERE s.borrower_code IS NOT NULL
              AND (b.id IS NULL OR (s.group_code IS NOT NULL AND bg.code <> s.group_code))
            """,
            // A unit inspects the groups of its own commune or of the units below it.
            """
            WITH RECURSIVE ancestry (commune_id, ancestor_id) AS (
                SELECT id, id FROM units WHERE level = 'commune'
                UNION ALL
                SELECT a.commune_id, u.parent_id FROM ancestry a JOIN units u ON u.id = a.ancestor_id
                WHERE u.parent_id IS NOT NULL
            )
            SELECT s.line, 'inspector_unit_code',
                   format('unit %s is not above group %s (commune %s), so it cannot inspect it', s.inspector_unit_code, s.group_code, c.code)
            FROM staged s
            JOIN units i ON i.code = s.inspector_unit_code
            JOIN groups g ON g.code = s.group_code
            JOIN units c ON c.id = g.commune_id
            WHERE NOT EXISTS (SELECT 1 FROM ancestry a WHERE a.commune_id = g.commune_id AND a.ancestor_id = i.id)
            """,
        ],
        counts: resolvedChecks + """
            SELECT count(*) FILTER (WHERE ib.inspection_id IS NULL),
                   count(*) FILTER (WHERE ib.inspection_id IS NOT NULL AND
                       (x.inspector_unit_id, x.inspected_on) IS DISTINCT FROM (r.inspector_unit_id, r.inspected_on)),
                   (SELECT count(*) \(dropped))
            FROM resolved r
            LEFT JOIN inspections x ON x.code = r.inspection_code
            LEFT JOIN inspected_borrowers ib ON ib.inspection_id = x.id AND ib.borrower_id = r.borrower_id
            """,
        merge: merge,
        tables: ["inspections", "inspected_borrowers"],
        // The same merge: with no borrower checked yet it deletes nothing, and its inserts'
        // ON CONFLICT clauses need no index of inspected_borrowers. Inspections themselves may
        // exist already (and change).
        firstLoad: FirstLoad.Plan(table: "inspected_borrowers", statements: merge)
    )
}

/// The inspection-coverage rules of DOMAIN.md as set-based SQL. Parameters: `$1` the inspecting
/// units to compute (bigint[]), `$2` the years (int[]). The numbers of the rules come from
/// `aggregate_settings`; the rule applied to an item follows the item's level (D4).
enum CoverageSQL {
    /// Replaces the items of `$1` × `$2`; run after ``deleteItems``.
    static let insertItems = """
        WITH RECURSIVE below (inspector, child, unit) AS (
            SELECT p.id, c.id, c.id FROM units p JOIN units c ON c.parent_id = p.id WHERE p.id = ANY($1)
            UNION ALL
            SELECT b.inspector, b.child, u.id FROM below b JOIN units u ON u.parent_id = b.unit
        ),
        settings AS (SELECT * FROM aggregate_settings),
        inspectors AS (SELECT id, level FROM units WHERE id = ANY($1)),
        years AS (SELECT DISTINCT unnest($2::int[]) AS year),
        -- A group check: the distinct borrowers of one group one unit checked in one year.
        checks AS (
            SELECT i.inspector_unit_id AS inspector, extract(year FROM i.inspected_on)::int AS year, b.group_id,
                   count(DISTINCT ib.borrower_id) AS checked
            FROM inspections i
            JOIN inspected_borrowers ib ON ib.inspection_id = i.id
            JOIN borrowers b ON b.id = ib.borrower_id
            WHERE i.inspector_unit_id = ANY($1) AND extract(year FROM i.inspected_on)::int = ANY($2)
              -- A backfill computes the figures as they stood on a past day (Aggregator.asOf).
              AND i.inspected_on <= coalesce(nullif(current_setting('creditops.as_of', true), '')::date, 'infinity')
            GROUP BY 1, 2, 3
        ),
        -- Complete at the configured number of borrowers, or all of a smaller group (D1).
        complete AS (
            SELECT c.inspector, c.year, c.group_id, g.commune_id
            FROM checks c JOIN groups g ON g.id = c.group_id CROSS JOIN settings s
            WHERE c.checked >= least(s.complete_check_borrowers,
                                     (SELECT count(*) FROM borrowers m WHERE m.group_id = c.group_id))
        ),
        complete_by_commune AS (
            SELECT inspector, year, commune_id, count(*) AS done FROM complete GROUP BY 1, 2, 3
        ),
        group_counts AS (
            SELECT commune_id, count(*) AS groups FROM groups
            WHERE commune_id IN (SELECT unit FROM below UNION ALL SELECT id FROM inspectors)
            GROUP BY 1
        ),
        items AS (
            -- Commune rule: every group of the commune has a complete check by the commune.
            SELECT i.id AS unit_id, y.year, g.code AS item_code, g.name AS item_name, 'commune' AS rule,
                   1 AS required, (cp.group_id IS NOT NULL)::int AS done,
                   CASE WHEN cp.group_id IS NOT NULL THEN 'compliant' ELSE 'not_compliant' END AS status
            FROM inspectors i CROSS JOIN years y
            JOIN groups g ON g.commune_id = i.id
            LEFT JOIN complete cp ON cp.inspector = i.id AND cp.year = y.year AND cp.group_id = g.id
            WHERE i.level = 'commune'
            UNION ALL
            -- District rule: each commune below needs ceil(share × its groups) complete checks (D2);
            -- a commune without groups is not applicable (D3).
            SELECT i.id, y.year, c.code, c.name, 'district',
                   ceil(s.commune_group_share * coalesce(n.groups, 0))::int, coalesce(d.done, 0)::int,
                   CASE WHEN coalesce(n.groups, 0) = 0 THEN 'not_applicable'
                        WHEN coalesce(d.done, 0) >= ceil(s.commune_group_share * n.groups) THEN 'compliant'
                        ELSE 'not_compliant' END
            FROM inspectors i CROSS JOIN years y CROSS JOIN settings s
            JOIN units c ON c.parent_id = i.id AND c.level = 'commune'
            LEFT JOIN group_counts n ON n.commune_id = c.id
            LEFT JOIN complete_by_commune d ON d.inspector = i.id AND d.year = y.year AND d.commune_id = c.id
            UNION ALL
            -- Province rule: each district below needs communes with a complete check; a district
            -- with no groups anywhere below it is not applicable.
            SELECT i.id, y.year, d.code, d.name, 'province',
                   least(s.district_min_communes, coalesce(a.communes, 0))::int, coalesce(x.done, 0)::int,
                   CASE WHEN coalesce(a.communes, 0) = 0 THEN 'not_applicable'
                        WHEN coalesce(x.done, 0) >= least(s.district_min_communes, a.communes) THEN 'compliant'
                        ELSE 'not_compliant' END
            FROM inspectors i CROSS JOIN years y CROSS JOIN settings s
            JOIN units d ON d.parent_id = i.id AND d.level <> 'commune'
            LEFT JOIN (SELECT b.inspector, b.child, count(*) AS communes
                       FROM below b JOIN group_counts n ON n.commune_id = b.unit AND n.groups > 0
                       GROUP BY 1, 2) AS a ON a.inspector = i.id AND a.child = d.id
            LEFT JOIN (SELECT b.inspector, b.child, cb.year, count(*) AS done
                       FROM below b JOIN complete_by_commune cb ON cb.inspector = b.inspector AND cb.commune_id = b.unit
                       GROUP BY 1, 2, 3) AS x ON x.inspector = i.id AND x.child = d.id AND x.year = y.year
        )
        INSERT INTO coverage_items (unit_id, year, item_code, item_name, rule, required, done, status)
        SELECT unit_id, year, item_code, item_name, rule, required, done, status::coverage_status FROM items
        """

    static let deleteItems = "DELETE FROM coverage_items WHERE unit_id = ANY($1) AND year = ANY($2)"

    /// Each unit's own coverage from its items.
    static let upsertCoverage = """
        INSERT INTO coverage (unit_id, year, rule, required, done, not_applicable, missing, percentage, status,
                              subtree_units, subtree_compliant, subtree_not_applicable, updated_at)
        SELECT u.id, y.year,
               coalesce(CASE WHEN count(DISTINCT it.rule) > 1 THEN 'mixed' ELSE min(it.rule) END, u.level::text),
               count(*) FILTER (WHERE it.status <> 'not_applicable'),
               count(*) FILTER (WHERE it.status = 'compliant'),
               count(*) FILTER (WHERE it.status = 'not_applicable'),
               coalesce(array_agg(it.item_code ORDER BY it.item_code) FILTER (WHERE it.status = 'not_compliant'), '{}'),
               round(100.0 * count(*) FILTER (WHERE it.status = 'compliant')
                     / nullif(count(*) FILTER (WHERE it.status <> 'not_applicable'), 0), 1),
               CASE WHEN count(*) FILTER (WHERE it.status <> 'not_applicable') = 0 THEN 'not_applicable'
                    WHEN count(*) FILTER (WHERE it.status = 'not_compliant') = 0 THEN 'compliant'
                    ELSE 'not_compliant' END::coverage_status,
               0, 0, 0, now()
        FROM units u CROSS JOIN (SELECT DISTINCT unnest($2::int[]) AS year) AS y
        LEFT JOIN coverage_items it ON it.unit_id = u.id AND it.year = y.year
        WHERE u.id = ANY($1)
        GROUP BY u.id, u.level, y.year
        ON CONFLICT (unit_id, year) DO UPDATE
            SET rule = excluded.rule, required = excluded.required, done = excluded.done,
                not_applicable = excluded.not_applicable, missing = excluded.missing,
                percentage = excluded.percentage, status = excluded.status, updated_at = excluded.updated_at
        """

    /// How many units below each unit of `$1` are compliant in their own inspections.
    static let rollUp = """
        WITH RECURSIVE down (top, unit) AS (
            SELECT id, id FROM units WHERE id = ANY($1)
            UNION ALL
            SELECT d.top, u.id FROM down d JOIN units u ON u.parent_id = d.unit
        ), totals AS (
            SELECT d.top, c.year,
                   count(*) FILTER (WHERE c.status <> 'not_applicable') AS units,
                   count(*) FILTER (WHERE c.status = 'compliant') AS compliant,
                   count(*) FILTER (WHERE c.status = 'not_applicable') AS not_applicable
            FROM down d JOIN coverage c ON c.unit_id = d.unit AND c.year = ANY($2)
            WHERE d.unit <> d.top
            GROUP BY 1, 2
        )
        UPDATE coverage AS c
        SET subtree_units = coalesce(t.units, 0), subtree_compliant = coalesce(t.compliant, 0),
            subtree_not_applicable = coalesce(t.not_applicable, 0), updated_at = now()
        FROM coverage AS k LEFT JOIN totals t ON t.top = k.unit_id AND t.year = k.year
        WHERE k.unit_id = ANY($1) AND k.year = ANY($2) AND (c.unit_id, c.year) = (k.unit_id, k.year)
        """
}

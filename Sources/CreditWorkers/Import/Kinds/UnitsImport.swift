extension ImportPlan {
    /// Units may name a parent defined later in the same file, so they are written in two
    /// statements: the units themselves, then every parent link on the final set of units.
    static let units = ImportPlan(
        checks: [
            duplicates(of: ["code"], column: "code", describe: "'duplicate code %s in the file'"),
            """
            SELECT s.line, 'parent_code', format('unknown parent unit %s', s.parent_code)
            FROM staged s
            WHERE s.parent_code IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM staged o WHERE o.code = s.parent_code)
              AND NOT EXISTS (SELECT 1 FROM units u WHERE u.code = s.parent_code)
            """,
            """
            SELECT s.line, 'parent_code', format('a %s needs its parent unit in parent_code: only provinces stand alone', s.level)
            FROM staged s
            WHERE s.parent_code IS NULL AND s.level IN ('district', 'commune')
            """,
            """
            SELECT s.line, 'parent_code', format('parent unit %s is a commune, and a commune has no units below it', s.parent_code)
            FROM staged s
            LEFT JOIN LATERAL (SELECT o.level FROM staged o WHERE o.code = s.parent_code ORDER BY o.line LIMIT 1) AS staged_parent ON true
            LEFT JOIN units u ON u.code = s.parent_code
            WHERE s.parent_code IS NOT NULL AND coalesce(staged_parent.level, u.level) = 'commune'
            """,
            // Walks up from every staged unit over the tree as it would be after the import.
            """
            WITH RECURSIVE tree (code, parent_code) AS (
                SELECT * FROM (SELECT DISTINCT ON (code) code, parent_code FROM staged
                               WHERE code IS NOT NULL ORDER BY code, line) AS first_of_each
                UNION ALL
                SELECT u.code, p.code FROM units u LEFT JOIN units p ON p.id = u.parent_id
                WHERE NOT EXISTS (SELECT 1 FROM staged s WHERE s.code = u.code)
            ), walk (line, start_code, current_code, chain) AS (
                SELECT s.line, s.code, s.parent_code, ARRAY[s.code, s.parent_code]
                FROM staged s WHERE s.code IS NOT NULL AND s.parent_code IS NOT NULL
                UNION ALL
                SELECT w.line, w.start_code, t.parent_code, w.chain || t.parent_code
                FROM walk w JOIN tree t ON t.code = w.current_code
                WHERE t.parent_code IS NOT NULL AND w.current_code <> w.start_code AND cardinality(w.chain) <= 100
            )
            SELECT line, 'parent_code', format('cycle in the unit tree: %s', array_to_string(chain, ' → '))
            FROM walk WHERE current_code = start_code
            """,
            """
            SELECT s.line, 'level', format('unit %s has transaction points or groups, so it must stay a commune', s.code)
            FROM staged s JOIN units u ON u.code = s.code
            WHERE u.level = 'commune' AND s.level <> 'commune'
              AND (EXISTS (SELECT 1 FROM points p WHERE p.commune_id = u.id)
                   OR EXISTS (SELECT 1 FROM groups g WHERE g.commune_id = u.id))
            """,
        ],
        counts: """
            SELECT count(*) FILTER (WHERE u.id IS NULL),
                   count(*) FILTER (WHERE u.id IS NOT NULL AND
                       (u.name, u.level, u.contact_name, u.contact_phone, p.code)
                       IS DISTINCT FROM (s.name, s.level, s.contact_name, s.contact_phone, s.parent_code)),
                   0
            FROM staged s LEFT JOIN units u ON u.code = s.code LEFT JOIN units p ON p.id = u.parent_id
            """,
        merge: [
            """
            INSERT INTO units (code, name, level, contact_name, contact_phone)
            SELECT code, name, level, contact_name, contact_phone FROM staged
            ON CONFLICT (code) DO UPDATE
                SET name = excluded.name, level = excluded.level,
                    contact_name = excluded.contact_name, contact_phone = excluded.contact_phone
                WHERE (units.name, units.level, units.contact_name, units.contact_phone)
                      IS DISTINCT FROM (excluded.name, excluded.level, excluded.contact_name, excluded.contact_phone)
            """,
            """
            UPDATE units AS u SET parent_id = p.id
            FROM staged s LEFT JOIN units p ON p.code = s.parent_code
            WHERE u.code = s.code AND u.parent_id IS DISTINCT FROM p.id
            """,
        ],
        tables: ["units"]
    )
}

extension ImportPlan {
    /// A group with no point named attends its commune's only point.
    private static let resolvedGroups = """
        WITH single_point AS (
            SELECT commune_id, min(id) AS point_id FROM points GROUP BY commune_id HAVING count(*) = 1
        ), resolved AS (
            SELECT s.code, s.name, c.id AS commune_id, s.leader_name, s.leader_phone,
                   coalesce(p.id, single_point.point_id) AS point_id
            FROM staged s
            JOIN units c ON c.code = s.commune_code
            LEFT JOIN points p ON p.code = s.point_code
            LEFT JOIN single_point ON single_point.commune_id = c.id
        )
        """

    static let groups = ImportPlan(
        checks: [
            duplicates(of: ["code"], column: "code", describe: "'duplicate code %s in the file'"),
            unknownCommune(column: "commune_code"),
            """
            SELECT s.line, 'point_code',
                   CASE WHEN p.id IS NULL THEN format('unknown transaction point %s', s.point_code)
                        ELSE format('transaction point %s is in commune %s, not %s', s.point_code, pc.code, s.commune_code) END
            FROM staged s LEFT JOIN points p ON p.code = s.point_code LEFT JOIN units pc ON pc.id = p.commune_id
            WHERE s.point_code IS NOT NULL AND (p.id IS NULL OR (s.commune_code IS NOT NULL AND pc.code <> s.commune_code))
            """,
            """
            SELECT s.line, 'point_code',
                   CASE WHEN coalesce(n.points, 0) = 0 THEN format('commune %s has no transaction point yet: import points first', s.commune_code)
                        ELSE format('commune %s has %s transaction points: say which one the group attends', s.commune_code, n.points) END
            FROM staged s
            JOIN units c ON c.code = s.commune_code AND c.level = 'commune'
            LEFT JOIN (SELECT commune_id, count(*) AS points FROM points GROUP BY commune_id) AS n ON n.commune_id = c.id
            WHERE s.point_code IS NULL AND coalesce(n.points, 0) <> 1
            """,
        ],
        counts: resolvedGroups + """
            SELECT count(*) FILTER (WHERE g.id IS NULL),
                   count(*) FILTER (WHERE g.id IS NOT NULL AND
                       (g.name, g.commune_id, g.leader_name, g.leader_phone, g.point_id)
                       IS DISTINCT FROM (r.name, r.commune_id, r.leader_name, r.leader_phone, r.point_id)),
                   0
            FROM resolved r LEFT JOIN groups g ON g.code = r.code
            """,
        merge: [
            resolvedGroups + """
            INSERT INTO groups (code, name, commune_id, leader_name, leader_phone, point_id)
            SELECT code, name, commune_id, leader_name, leader_phone, point_id FROM resolved
            ON CONFLICT (code) DO UPDATE
                SET name = excluded.name, commune_id = excluded.commune_id, leader_name = excluded.leader_name,
                    leader_phone = excluded.leader_phone, point_id = excluded.point_id
                WHERE (groups.name, groups.commune_id, groups.leader_name, groups.leader_phone, groups.point_id)
                      IS DISTINCT FROM (excluded.name, excluded.commune_id, excluded.leader_name, excluded.leader_phone, excluded.point_id)
            """
        ],
        tables: ["groups"]
    )
}

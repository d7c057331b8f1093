extension ImportPlan {
    static let points = ImportPlan(
        checks: [
            duplicates(of: ["code"], column: "code", describe: "'duplicate code %s in the file'"),
            unknownCommune(column: "commune_code"),
            // Groups hold a point of their own commune (a foreign key), so a point with groups
            // cannot move away under them.
            """
            SELECT s.line, 'commune_code', format('point %s has groups in commune %s; give them another point before moving it', s.code, c.code)
            FROM staged s JOIN points p ON p.code = s.code JOIN units c ON c.id = p.commune_id
            WHERE s.commune_code IS NOT NULL AND c.code <> s.commune_code
              AND EXISTS (SELECT 1 FROM groups g WHERE g.point_id = p.id)
            """,
        ],
        counts: """
            SELECT count(*) FILTER (WHERE p.id IS NULL),
                   count(*) FILTER (WHERE p.id IS NOT NULL AND
                       (c.code, p.session_day, p.session_time, p.location)
                       IS DISTINCT FROM (s.commune_code, s.session_day, s.session_time, s.location)),
                   0
            FROM staged s LEFT JOIN points p ON p.code = s.code LEFT JOIN units c ON c.id = p.commune_id
            """,
        merge: [
            """
            INSERT INTO points (code, commune_id, session_day, session_time, location)
            SELECT s.code, c.id, s.session_day, s.session_time, s.location
            FROM staged s JOIN units c ON c.code = s.commune_code
            ON CONFLICT (code) DO UPDATE
                SET commune_id = excluded.commune_id, session_day = excluded.session_day,
                    session_time = excluded.session_time, location = excluded.location
                WHERE (points.commune_id, points.session_day, points.session_time, points.location)
                      IS DISTINCT FROM (excluded.commune_id, excluded.session_day, excluded.session_time, excluded.location)
            """
        ],
        tables: ["points"]
    )
}

extension ImportPlan {
    private static let insertBorrowers = """
        INSERT INTO borrowers (code, name, group_id, phone, savings_balance)
        SELECT s.code, s.name, g.id, s.phone, s.savings_balance
        FROM staged s JOIN groups g ON g.code = s.group_code
        """

    static let borrowers = ImportPlan(
        checks: [
            duplicates(of: ["code"], column: "code", describe: "'duplicate code %s in the file'"),
            unknown("group", column: "group_code", table: "groups"),
        ],
        counts: """
            SELECT count(*) FILTER (WHERE b.id IS NULL),
                   count(*) FILTER (WHERE b.id IS NOT NULL AND
                       (b.name, b.group_id, b.phone, b.savings_balance) IS DISTINCT FROM (s.name, g.id, s.phone, s.savings_balance)),
                   0
            FROM staged s JOIN groups g ON g.code = s.group_code LEFT JOIN borrowers b ON b.code = s.code
            """,
        merge: [
            insertBorrowers + """

            ON CONFLICT (code) DO UPDATE
                SET name = excluded.name, group_id = excluded.group_id, phone = excluded.phone,
                    savings_balance = excluded.savings_balance
                WHERE (borrowers.name, borrowers.group_id, borrowers.phone, borrowers.savings_balance)
                      IS DISTINCT FROM (excluded.name, excluded.group_id, excluded.phone, excluded.savings_balance)
            """
        ],
        tables: ["borrowers"],
        touches: """
            SELECT g.commune_id FROM staged s JOIN groups g ON g.code = s.group_code LEFT JOIN borrowers b ON b.code = s.code
            WHERE b.id IS NULL
               OR (b.name, b.group_id, b.phone, b.savings_balance) IS DISTINCT FROM (s.name, g.id, s.phone, s.savings_balance)
            UNION
            SELECT was.commune_id FROM staged s JOIN groups g ON g.code = s.group_code JOIN borrowers b ON b.code = s.code
            JOIN groups was ON was.id = b.group_id
            WHERE (b.name, b.group_id, b.phone, b.savings_balance) IS DISTINCT FROM (s.name, g.id, s.phone, s.savings_balance)
            """,
        firstLoad: FirstLoad.Plan(
            table: "borrowers", statements: [insertBorrowers], everyRowNew: true, idleTriggers: ["aggregates_borrowers_inserted"])
    )
}

extension ImportPlan {
    private static let insertBorrowers = """
        INSERT INTO borrowers (code, name, group_id, phone, savings_balance)
        SELECT s.code, s.name, g.id, s.phone, s.savings_balance
        FROM staged s JOIN groups g ON g.code = s.group_code
        """

    private static let borrowersCaughtByTheLoad = [
        duplicates(of: ["code"], column: "code", describe: "'duplicate code %s in the file'"),
        unknown("group", column: "group_code", table: "groups"),
    ]

    static let borrowers = ImportPlan(
        checks: borrowersCaughtByTheLoad,
        // With the communes the merge changes, before and after (the import marks them itself).
        counts: """
            WITH compared AS MATERIALIZED (
                SELECT g.commune_id, was.commune_id AS commune_before, b.id IS NULL AS new,
                       (b.name, b.group_id, b.phone, b.savings_balance)
                       IS DISTINCT FROM (s.name, g.id, s.phone, s.savings_balance) AS differs
                FROM staged s JOIN groups g ON g.code = s.group_code LEFT JOIN borrowers b ON b.code = s.code
                LEFT JOIN groups was ON was.id = b.group_id
            )
            SELECT count(*) FILTER (WHERE new), count(*) FILTER (WHERE differs AND NOT new), 0,
                   ARRAY(SELECT commune_id FROM compared WHERE differs
                         UNION SELECT commune_before FROM compared WHERE differs AND NOT new)
            FROM compared
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
        marksUnits: true,
        firstLoad: FirstLoad.Plan(
            table: "borrowers", statements: [insertBorrowers], idleTriggers: ["aggregates_borrowers_inserted"],
            caughtByTheLoad: borrowersCaughtByTheLoad,
            touchedCommunes: peopledCommunes,
            direct: DirectLoad.Plan(
                columns: [.value("code"), .value("name"), .id("group_id", of: "groups"), .value("phone"), .value("savings_balance")],
                touchedCommunes: peopledCommunes))
    )

    // One index probe a group (LIMIT 1 keeps it a nested loop): 0.5 s on the national seed.
    private static let peopledCommunes = """
        SELECT ARRAY(SELECT DISTINCT g.commune_id FROM groups g
                     CROSS JOIN LATERAL (SELECT FROM borrowers b WHERE b.group_id = g.id LIMIT 1) AS peopled)
        """
}

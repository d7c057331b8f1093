extension ImportPlan {
    private static let insertLoans = """
        INSERT INTO loans (code, borrower_id, program, principal, outstanding, disbursed_on, due_on)
        SELECT s.code, b.id, s.program, s.principal, s.outstanding, s.disbursed_on, s.due_on
        FROM staged s JOIN borrowers b ON b.code = s.borrower_code
        """

    private static let loansCaughtByTheLoad = [
        duplicates(of: ["code"], column: "code", describe: "'duplicate code %s in the file'"),
        unknown("borrower", column: "borrower_code", table: "borrowers"),
    ]

    static let loans = ImportPlan(
        checks: loansCaughtByTheLoad + [
            """
            SELECT line, 'outstanding', format('outstanding %s is more than the principal %s', outstanding, principal)
            FROM staged WHERE outstanding > principal
            """,
            """
            SELECT line, 'due_on', format('due date %s is before the disbursement date %s', due_on, disbursed_on)
            FROM staged WHERE due_on < disbursed_on
            """,
        ],
        // With the communes the merge changes, before and after (the import marks them itself);
        // the loans' former owners are looked up for changed loans only.
        counts: """
            WITH compared AS MATERIALIZED (
                SELECT g.commune_id, l.id AS loan_id, l.borrower_id AS owner_id,
                       (l.borrower_id, l.program, l.principal, l.outstanding, l.disbursed_on, l.due_on)
                       IS DISTINCT FROM (b.id, s.program, s.principal, s.outstanding, s.disbursed_on, s.due_on) AS differs
                FROM staged s JOIN borrowers b ON b.code = s.borrower_code JOIN groups g ON g.id = b.group_id
                LEFT JOIN loans l ON l.code = s.code
            )
            SELECT count(*) FILTER (WHERE loan_id IS NULL), count(*) FILTER (WHERE loan_id IS NOT NULL AND differs), 0,
                   ARRAY(SELECT commune_id FROM compared WHERE differs
                         UNION
                         SELECT was.commune_id FROM compared c JOIN borrowers owner ON owner.id = c.owner_id
                         JOIN groups was ON was.id = owner.group_id WHERE c.loan_id IS NOT NULL AND c.differs)
            FROM compared
            """,
        merge: [
            insertLoans + """

            ON CONFLICT (code) DO UPDATE
                SET borrower_id = excluded.borrower_id, program = excluded.program, principal = excluded.principal,
                    outstanding = excluded.outstanding, disbursed_on = excluded.disbursed_on, due_on = excluded.due_on
                WHERE (loans.borrower_id, loans.program, loans.principal, loans.outstanding, loans.disbursed_on, loans.due_on)
                      IS DISTINCT FROM (excluded.borrower_id, excluded.program, excluded.principal, excluded.outstanding,
                                        excluded.disbursed_on, excluded.due_on)
            """
        ],
        tables: ["loans"],
        marksUnits: true,
        firstLoad: FirstLoad.Plan(
            table: "loans", statements: [insertLoans], idleTriggers: ["aggregates_loans_inserted"],
            // No `touchedCommunes`: without the counts query first, the insert was the first
            // statement to read the borrowers just loaded and took 54–60 s instead of 37 s, more
            // than the 13.7 s of counts it saved (national seed, 2026-12-01; setting the hint bits
            // of 6.8 M fresh rows would explain it, not verified).
            caughtByTheLoad: loansCaughtByTheLoad,
            direct: DirectLoad.Plan(
                columns: [.value("code"), .id("borrower_id", of: "borrowers"), .value("program"), .value("principal"),
                          .value("outstanding"), .value("disbursed_on"), .value("due_on")],
                // One probe of a group's borrowers and their loans a group, through the rebuilt indexes.
                touchedCommunes: """
                    SELECT ARRAY(SELECT DISTINCT g.commune_id FROM groups g
                                 CROSS JOIN LATERAL (SELECT FROM borrowers b JOIN loans l ON l.borrower_id = b.id
                                                     WHERE b.group_id = g.id LIMIT 1) AS lent)
                    """,
                rowIsValid: keepsTheLoansChecks))
    )

    /// The loans table's checks across columns, on a row's checked values: outstanding at most
    /// the principal (both digits only, at most 15), due on or after disbursement (ISO dates).
    private static let keepsTheLoansChecks: @Sendable ([String?]) -> Bool = { values in
        guard let principal = values[3].flatMap({ Int($0) }), let outstanding = values[4].flatMap({ Int($0) }),
              let disbursed = values[5], let due = values[6] else { return false }
        return outstanding <= principal && due >= disbursed
    }
}

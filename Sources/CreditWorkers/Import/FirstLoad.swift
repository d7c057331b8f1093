import Logging
import PostgresNIO

/// A large import into an empty table, loaded the way `pg_restore` loads one: rows first, then
/// the table's indexes and foreign keys, each built in one sorted pass or checked by one join,
/// instead of an index insertion and a foreign-key lookup per row (for the national seed's 6.8
/// million borrowers and loans, most of the import's time).
///
/// The keys that other tables' foreign keys rely on go too, and those foreign keys with them:
/// while this table is empty, no row of another can refer to it, so adding them back after the
/// key checks nothing but NULLs (on the national seed, keeping the loans' primary key during the
/// load cost about 10 s). Everything dropped is recreated from its own catalog definition in the
/// same transaction, so a failed import leaves the tables as they were. The tables are locked
/// against readers meanwhile: this one is empty, so readers wait for its first rows rather than
/// read none.
struct FirstLoad {
    /// What an import says of loading its table when the table is empty.
    struct Plan: Sendable {
        var table: String
        /// The statements that write the staged rows, with no ON CONFLICT that needs a dropped index.
        var statements: [String]
        /// Triggers of `table` that stand aside for this import anyway (it marks the units
        /// itself, schema step 20): dropped during the load and created again after it, so that
        /// PostgreSQL does not collect their transition tables of millions of rows (a disabled
        /// trigger's are still collected: 138 MB of temporary file for 2 M rows of 60 bytes).
        var idleTriggers: [String] = []
        /// Checks of the import's plan that the load catches by itself, so that a first load
        /// runs them only when it fails (for their messages by line): a key repeated in the file
        /// fails the build of its unique index, and a row naming a record that does not exist is
        /// left out of the join that writes the rows (or the counts' join before it), so fewer
        /// rows are new than were staged. On the national seed they took 9–19 s of each of the
        /// borrowers' and loans' imports.
        var caughtByTheLoad: [String] = []
        /// For an import that marks units itself: one row, the communes of the loaded rows, read
        /// after the load through the rebuilt indexes. With it the import skips its counts query,
        /// whose join of every staged row with the tables took 5 s of the national borrowers'
        /// import (the communes' query: under 1 s): into an empty table every row written is new.
        var touchedCommunes: String?
        /// How the import may load the table by `COPY` instead of staging the file. See ``DirectLoad``.
        var direct: DirectLoad.Plan?
    }

    /// Fewer staged rows counted as new than were staged: some name a record that does not exist.
    struct RowsLeftOut: Error, CustomStringConvertible {
        var description: String { "some rows of the file name records that do not exist" }
    }

    /// Whether a first load's failure may come from the file: a row left out or refused, a
    /// duplicate key (23505), a missing reference (23503) or value (23502), a broken check (23514).
    static func mayBeBadInput(_ error: any Error) -> Bool {
        if error is RowsLeftOut || error is DirectLoad.Refused { return true }
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return ["23505", "23503", "23502", "23514"].contains(state)
    }

    let plan: Plan
    /// Statements that drop the foreign keys, then the indexes and the triggers that stand aside.
    private let drops: [String]
    /// Statements that put them back: triggers, indexes, then the foreign keys that need them.
    private let rebuild: [String]

    /// Locks the table if it is empty, and the tables whose foreign keys refer to it, and reads
    /// the definitions of what the load drops; nil if the table holds any row.
    static func begin(_ plan: Plan, on connection: PostgresConnection, logger: Logger) async throws -> FirstLoad? {
        let table = plan.table
        // An unlocked look first: a table with rows is never locked against readers for this.
        guard try await isEmpty(table, on: connection, logger: logger) else { return nil }
        try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE"), logger: logger)
        guard try await isEmpty(table, on: connection, logger: logger) else { return nil }

        let referring = try await referringForeignKeys(table, on: connection, logger: logger)
        // Their foreign keys go below; locked now, before the load's statements wait on them.
        for other in Set(referring.map(\.table)).sorted() {
            try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(other) IN ACCESS EXCLUSIVE MODE"), logger: logger)
        }

        var indexDrops: [String] = []
        var indexes: [String] = []
        let definitions = try await connection.query(
            """
            SELECT 'DROP INDEX ' || i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = \(table)::regclass
              AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            UNION ALL
            SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
                   format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
            FROM pg_constraint c
            WHERE c.conrelid = \(table)::regclass AND c.contype IN ('p', 'u')
            """, logger: logger)
        for try await (drop, create) in definitions.decode((String, String).self) {
            indexDrops.append(drop)
            indexes.append(create)
        }
        var foreignKeyDrops: [String] = []
        var foreignKeys: [String] = []
        let keys = try await connection.query(
            """
            SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
                   format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
            FROM pg_constraint WHERE conrelid = \(table)::regclass AND contype = 'f'
            """, logger: logger)
        for try await (drop, create) in keys.decode((String, String).self) {
            foreignKeyDrops.append(drop)
            foreignKeys.append(create)
        }
        var triggerDrops: [String] = []
        var triggers: [String] = []
        let idle = try await connection.query(
            """
            SELECT format('DROP TRIGGER %I ON %s', tgname, tgrelid::regclass), pg_get_triggerdef(oid),
                   -- A trigger is created enabled: one an operator had switched off or to replica stays so.
                   CASE tgenabled WHEN 'O' THEN NULL
                                  ELSE format('ALTER TABLE %s %s TRIGGER %I', tgrelid::regclass,
                                              CASE tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA'
                                                             ELSE 'ENABLE ALWAYS' END, tgname) END
            FROM pg_trigger WHERE tgrelid = \(table)::regclass AND tgname = ANY(\(plan.idleTriggers))
            """, logger: logger)
        for try await (drop, create, state) in idle.decode((String, String, String?).self) {
            triggerDrops.append(drop)
            triggers.append(create)
            if let state { triggers.append(state) }
        }
        // Foreign keys before the keys they rely on; keys back before the foreign keys that need them.
        return FirstLoad(plan: plan, drops: referring.map(\.drop) + foreignKeyDrops + indexDrops + triggerDrops,
                         rebuild: triggers + indexes + foreignKeys + referring.map(\.create))
    }

    /// The foreign keys of other tables that refer to `table`.
    private static func referringForeignKeys(
        _ table: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(table: String, drop: String, create: String)] {
        let rows = try await connection.query(
            """
            SELECT conrelid::regclass::text,
                   format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
                   format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
            FROM pg_constraint
            WHERE contype = 'f' AND confrelid = \(table)::regclass AND conrelid <> \(table)::regclass
            ORDER BY 1, conname
            """, logger: logger)
        var found: [(table: String, drop: String, create: String)] = []
        for try await (referrer, drop, create) in rows.decode((String, String, String).self) {
            found.append((referrer, drop, create))
        }
        return found
    }

    /// Drops the indexes and foreign keys, writes the staged rows, then builds the indexes and
    /// checks the foreign keys over them. Returns the number of rows the plan's last statement,
    /// the one that writes this table, wrote (the inspections' plan first writes the
    /// inspections themselves); throws ``RowsLeftOut`` before any index is built when that is not `expected`.
    @discardableResult
    func load(expecting expected: Int? = nil, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await load(expecting: expected, on: connection, logger: logger) {
            var written = 0
            for statement in plan.statements {
                // The future-returning query: only it gives the command tag's row count.
                let result = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).get()
                written = result.metadata.rows ?? 0
            }
            return written
        }
    }

    /// The same, with the rows written by `write`, which returns how many it wrote.
    func load(
        expecting expected: Int? = nil, on connection: PostgresConnection, logger: Logger,
        writing write: () async throws -> Int
    ) async throws -> Int {
        // The index builds sort millions of keys: in memory, not in temporary files.
        try await connection.query("SET LOCAL maintenance_work_mem = '256MB'", logger: logger)
        for statement in drops {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        let written = try await write()
        // Into an empty table every staged row is new; one the insert's join left out names a
        // record that does not exist.
        if let expected, written != expected { throw RowsLeftOut() }
        for statement in rebuild {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        return written
    }


    private static func isEmpty(_ table: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT NOT EXISTS (SELECT FROM \(table))"), logger: logger)
        for try await empty in rows.decode(Bool.self) { return empty }
        return false
    }
}

public import Logging
public import PostgresNIO
import CreditDomain
import JobQueue

/// Loads a file or a stream of records into the domain tables, whole or not at all.
///
/// The records stream through `COPY` into a temporary staging table; the checks that need other
/// rows or the database run as a few set-based queries over it; then one merge per table upserts
/// by code. Everything happens in one transaction, so a rejected file writes nothing and a
/// re-imported one changes nothing. Imports run one at a time (an advisory lock), so two
/// operators importing at once cannot check against each other's half-written data.
public struct Importer: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Rows from which an import into an empty table loads it as a ``FirstLoad``: below this,
    /// rebuilding the indexes would cost more than inserting into them.
    public let firstLoadRows: Int

    public init(client: PostgresClient, logger: Logger, firstLoadRows: Int = 100_000) {
        self.client = client
        self.logger = logger
        self.firstLoadRows = firstLoadRows
    }

    /// What an import is doing, for a progress bar.
    public enum Progress: Sendable {
        case reading(bytes: Int, of: Int)
        case checking
        case writing
    }

    /// Imports a CSV file of `kind` (UTF-8, a header row with exactly the kind's columns).
    public func importFile(
        _ kind: ImportKind, path: String, progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> ImportSummary {
        let open = { () throws -> CSVReader in
            let reader = try CSVReader(path: path)
            guard let header = reader.next() else { throw ImportError.empty(kind: kind) }
            let found = header.fields.map { $0.trimmingSpaces }
            guard header.malformed == nil, found == kind.columns else {
                throw ImportError.wrongHeader(kind: kind, found: found)
            }
            return reader
        }
        let first = try open()
        return try await load(kind, estimatedRows: first.size / Self.bytesPerRow, records: first, again: open) { reader in
            progress?(.reading(bytes: reader.bytesRead, of: reader.size))
        } progress: { progress?($0) }
    }

    /// Imports records made by a program (the seed), through the same checks as a file. Record
    /// fields are in the order of ``ImportKind/columns``. A large collection may load directly
    /// (``DirectLoad``), reading it twice if that gives up; so may any other sequence given its
    /// `expectedRows`, which says roughly how many it holds and that it can be read twice.
    public func importRecords(
        _ kind: ImportKind, _ records: some Sequence<[String]>, expectedRows: Int? = nil
    ) async throws -> ImportSummary {
        // `.lazy` after `enumerated()`: an eager map would hold every record in memory at once.
        let numbered = records.enumerated().lazy.map { CSVRecord(line: $0.offset + 2, fields: $0.element, problem: nil) }
        // A sequence that may be read once counts as none: read again, it could be empty.
        let estimated = expectedRows ?? ((records as? any Collection)?.count ?? 0)
        return try await load(
            kind, estimatedRows: estimated, records: numbered, again: { numbered },
            readProgress: { _ in }, progress: { _ in })
    }

    /// A file's size over this is roughly its rows (the national seed's borrowers and loans: 50–70 bytes).
    static let bytesPerRow = 64

    /// Changed rows from which an import refreshes the planner's statistics of its tables.
    static let analyzeThreshold = 1_000

    /// An advisory lock key shared by every import ("creditops import").
    static let lockKey: Int64 = 0x4352_4F50_494D_5054

    /// - Parameters:
    ///   - records: the records, read once unless a direct load gives up.
    ///   - again: the same records from the start, for the staged import after a direct load gave up.
    private func load<Records: Sequence<CSVRecord>>(
        _ kind: ImportKind, estimatedRows: Int, records: Records, again: () throws -> Records,
        readProgress: (Records) -> Void, progress: (Progress) -> Void
    ) async throws -> ImportSummary {
        let started = ContinuousClock.now
        let plan = kind.plan
        let (rows, inserted, updated, removed, way) = try await client.inTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            // Sorts and hashes over a million staged rows stay in memory.
            try await connection.query("SET LOCAL work_mem = '256MB'", logger: logger)
            // A national file's statements run for tens of seconds, and a time-out during a `COPY`
            // would hang the import (see ``DirectLoad``): an import is bounded by its file.
            try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
            // Its joins of millions of rows cost enough to be compiled, and compiling took longer
            // than it saved (2.4 s of the 11 s that the national inspections' checks took).
            try await connection.query("SET LOCAL jit = off", logger: logger)
            var records = records
            var readBefore = 0
            if let bulk = plan.firstLoad, let direct = bulk.direct, estimatedRows >= firstLoadRows,
               let firstLoad = try await FirstLoad.begin(bulk, on: connection, logger: logger) {
                try await run("SAVEPOINT direct_load", on: connection)
                var writer: DirectWriter?
                do {
                    let written = try await loadDirectly(
                        kind, plan, direct, firstLoad, records: records, writer: &writer, on: connection,
                        readProgress: readProgress, progress: progress)
                    return (written, written, 0, 0, "copy")
                } catch where FirstLoad.mayBeBadInput(error) {
                    // Staged, the file's problems are named by line, as an ordinary import names them.
                    logger.info("Direct load gave up; staging the file", metadata: [
                        "import.kind": "\(kind.rawValue)", "import.refusal": "\(String(reflecting: error))"])
                    try await run("ROLLBACK TO SAVEPOINT direct_load", on: connection)
                    readBefore = writer?.read ?? 0
                    records = try again()
                }
            }
            try await run(stagingTable(kind), on: connection)
            var stager = Stager(kind: kind)
            try await copy(records, into: "staged", columns: ["line"] + kind.columns, on: connection, readProgress: readProgress) {
                stager.stage($0, into: &$1)
            }
            if stager.rows < readBefore {
                throw ImportError.changedWhileRead(kind: kind, before: readBefore, after: stager.rows)
            }
            progress(.checking)
            try await run("ANALYZE staged", on: connection)
            let bulk = plan.firstLoad.flatMap { stager.rows >= firstLoadRows ? $0 : nil }
            // A first load leaves to the load itself the checks it catches anyway (see
            // ``FirstLoad/Plan/caughtByTheLoad``), and runs them only if it fails.
            let deferred = bulk?.caughtByTheLoad ?? []
            var found = try await problems(plan.checks.filter { !deferred.contains($0) }, on: connection)
            if found.1 + stager.problemCount > 0, !deferred.isEmpty {
                // A file refused anyway is refused with all its problems, as an ordinary import names them.
                let more = try await problems(deferred, on: connection)
                found = (found.0 + more.0, found.1 + more.1)
            }
            try reject(kind, stager, found)
            progress(.writing)
            let firstLoad: FirstLoad? = if let bulk { try await FirstLoad.begin(bulk, on: connection, logger: logger) } else { nil }
            if firstLoad == nil, !deferred.isEmpty {
                // The table has rows after all: an ordinary import, checked in full first.
                try reject(kind, stager, try await problems(deferred, on: connection))
            }
            if firstLoad != nil { try await run("SAVEPOINT first_load", on: connection) }
            var inserted = 0, updated = 0, removed = 0
            var analyzed = false
            do {
                if let firstLoad, plan.marksUnits, let communes = firstLoad.plan.touchedCommunes {
                    inserted = try await loadCountingOnTheLoad(plan, firstLoad, communes: communes, staged: stager.rows, on: connection)
                    analyzed = true
                } else if let firstLoad, !plan.marksUnits {
                    // Into an empty table every staged row is new, and none updated or removed:
                    // no counts query (5 s of the national inspections' import).
                    inserted = try await firstLoad.load(expecting: stager.rows, on: connection, logger: logger)
                } else {
                    (inserted, updated, removed) = try await countThenWrite(plan, firstLoad, staged: stager.rows, on: connection)
                }
            } catch where firstLoad != nil && !deferred.isEmpty && FirstLoad.mayBeBadInput(error) {
                // The file's fault, most likely: its problems by line, as an ordinary import gives them.
                try await run("ROLLBACK TO SAVEPOINT first_load", on: connection)
                try reject(kind, stager, try await problems(deferred, on: connection))
                throw error
            }
            if !analyzed, inserted + updated + removed >= Self.analyzeThreshold {
                for table in plan.tables { try await run("ANALYZE \(table)", on: connection) }
            }
            return (stager.rows, inserted, updated, removed, firstLoad == nil ? "merge" : "first load")
        }
        logger.info("Imported", metadata: ["import.kind": "\(kind.rawValue)", "import.rows": "\(rows)",
                                            "import.inserted": "\(inserted)", "import.updated": "\(updated)",
                                            "import.load": "\(way)"])
        return ImportSummary(
            kind: kind.rawValue, rows: rows, inserted: inserted, updated: updated,
            unchanged: rows - inserted - updated, removed: removed, seconds: (ContinuousClock.now - started).seconds)
    }

    /// Loads the records by `COPY` straight into the empty table (``DirectLoad``); throws
    /// ``DirectLoad/Refused`` at the first record with a problem.
    /// `writer` keeps how far it read, for the staged import that follows when it gives up.
    private func loadDirectly<Records: Sequence<CSVRecord>>(
        _ kind: ImportKind, _ plan: ImportPlan, _ direct: DirectLoad.Plan, _ firstLoad: FirstLoad,
        records: Records, writer: inout DirectWriter?, on connection: PostgresConnection,
        readProgress: (Records) -> Void, progress: (Progress) -> Void
    ) async throws -> Int {
        var ids: [String: CodeTable] = [:]
        for case .id(_, let table) in direct.columns where ids[table] == nil {
            ids[table] = try await DirectLoad.ids(of: table, on: connection, logger: logger)
        }
        var rows = DirectWriter(kind: kind, plan: direct, ids: ids)
        ids = [:]
        defer { writer = rows }
        try await run("SET LOCAL creditops.import_marks_units = on", on: connection)
        let written = try await firstLoad.load(on: connection, logger: logger) {
            try await copy(records, into: firstLoad.plan.table, columns: direct.columns.map(\.name), on: connection,
                           readProgress: readProgress) {
                guard rows.write($0, into: &$1) else { throw DirectLoad.Refused() }
            }
            progress(.writing)
            return rows.rows
        }
        try await markCommunes(plan, direct.touchedCommunes, on: connection)
        return written
    }

    /// Streams `records` by `COPY` into `table`, each written in `COPY`'s text format by `write`.
    private func copy<Records: Sequence<CSVRecord>>(
        _ records: Records, into table: String, columns: [String], on connection: PostgresConnection,
        readProgress: (Records) -> Void, write: (CSVRecord, inout ByteBuffer) throws -> Void
    ) async throws {
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            var pending = ByteBuffer()
            pending.reserveCapacity(Stager.flushSize + 4096)
            for record in records {
                try write(record, &pending)
                if pending.readableBytes >= Stager.flushSize {
                    try await writer.write(pending)
                    pending.clear()
                    readProgress(records)
                }
            }
            if pending.readableBytes > 0 { try await writer.write(pending) }
            readProgress(records)
        }
    }

    /// Analyzes the tables just loaded, then marks the communes `query` reads from them.
    private func markCommunes(_ plan: ImportPlan, _ query: String, on connection: PostgresConnection) async throws {
        // Planned without statistics of the table just loaded, the communes' query scanned it
        // once per group (minutes on the national seed); the import analyzes it anyway.
        for table in plan.tables { try await run("ANALYZE \(table)", on: connection) }
        var touched: [Int64] = []
        for try await units in try await connection.query(PostgresQuery(unsafeSQL: query), logger: logger).decode([Int64].self) {
            touched = units
        }
        try await connection.query("SELECT aggregates_touch(\(touched))", logger: logger)
    }

    /// A first load that marks units: the load's own row count stands for the counts query, and
    /// `communes` (``FirstLoad/Plan/touchedCommunes``) reads the communes of its rows back after it.
    private func loadCountingOnTheLoad(
        _ plan: ImportPlan, _ firstLoad: FirstLoad, communes: String, staged: Int, on connection: PostgresConnection
    ) async throws -> Int {
        try await run("SET LOCAL creditops.import_marks_units = on", on: connection)
        let written = try await firstLoad.load(expecting: staged, on: connection, logger: logger)
        try await markCommunes(plan, communes, on: connection)
        return written
    }

    /// Counts what the import changes (and, for an import that marks units, marks them), then
    /// writes: by the first load when there is one, else by the plan's merge.
    private func countThenWrite(
        _ plan: ImportPlan, _ firstLoad: FirstLoad?, staged: Int, on connection: PostgresConnection
    ) async throws -> (inserted: Int, updated: Int, removed: Int) {
        var inserted = 0, updated = 0, removed = 0
        let counts = try await connection.query(PostgresQuery(unsafeSQL: plan.counts), logger: logger)
        if plan.marksUnits {
            var touched: [Int64] = []
            for try await (i, u, r, units) in counts.decode((Int, Int, Int, [Int64]).self) {
                (inserted, updated, removed, touched) = (i, u, r, units)
            }
            try await run("SET LOCAL creditops.import_marks_units = on", on: connection)
            try await connection.query("SELECT aggregates_touch(\(touched))", logger: logger)
        } else {
            for try await (i, u, r) in counts.decode((Int, Int, Int).self) {
                (inserted, updated, removed) = (i, u, r)
            }
        }
        if let firstLoad {
            // Into an empty table every staged row is new; one the counts' join left out
            // names a record that does not exist.
            if !firstLoad.plan.caughtByTheLoad.isEmpty, inserted != staged { throw FirstLoad.RowsLeftOut() }
            try await firstLoad.load(on: connection, logger: logger)
        } else {
            for statement in plan.merge {
                try await run(statement, on: connection)
            }
        }
        return (inserted, updated, removed)
    }

    private func stagingTable(_ kind: ImportKind) -> String {
        let columns = kind.fields.map { "\($0.name) \($0.rule.stagingType)" }
        return "CREATE TEMPORARY TABLE staged (line integer NOT NULL, \(columns.joined(separator: ", "))) ON COMMIT DROP"
    }

    private func run(_ sql: String, on connection: PostgresConnection) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Throws the rejection of the file if the stager or `found` saw any problem.
    private func reject(_ kind: ImportKind, _ stager: Stager, _ found: ([ImportProblem], Int)) throws {
        let total = stager.problemCount + found.1
        guard total > 0 else { return }
        let first = (stager.problems + found.0).sorted { ($0.line, $0.column ?? "") < ($1.line, $1.column ?? "") }
        throw ImportError.rejected(kind: kind, problems: Array(first.prefix(ImportError.shownProblems)), total: total)
    }

    /// The first problems by line, of `checks` together, and how many there are.
    private func problems(_ checks: [String], on connection: PostgresConnection) async throws -> ([ImportProblem], Int) {
        guard !checks.isEmpty else { return ([], 0) }
        let union = checks.map { "(\($0))" }.joined(separator: "\nUNION ALL\n")
        let sql = """
            SELECT line, problem_column, reason, count(*) OVER () AS total
            FROM (\(union)) AS problems (line, problem_column, reason)
            ORDER BY line, problem_column
            LIMIT \(ImportError.shownProblems)
            """
        var found: [ImportProblem] = []
        var total = 0
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await (line, column, reason, count) in rows.decode((Int, String, String, Int).self) {
            found.append(ImportProblem(line: line, column: column, reason: reason))
            total = count
        }
        return (found, total)
    }
}

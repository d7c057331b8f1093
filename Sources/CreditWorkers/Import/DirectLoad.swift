import Logging
import NIOCore
import PostgresNIO

/// A first load (``FirstLoad``) whose rows go by `COPY` straight into the empty table, the codes
/// of the records they name turned into ids by the import itself, instead of into a staging table
/// and then across by an `INSERT … SELECT` join. PostgreSQL then writes the rows while the import
/// is still reading them (one core each) and writes them in batches (`COPY`'s multi-row insert),
/// where the staged way read everything first and then inserted one row at a time: on the
/// national seed, 6.8 M borrowers' staging and insert took 18–30 s and 16–30 s, 7.8 M loans'
/// staging, counts and insert 15–27, 12–18 and 29–44 s.
///
/// It takes only a file with nothing wrong: at the first field that fails its rule, code that
/// names no record or row that fails the plan's `rowIsValid`, and on a duplicate code at the
/// index build after the `COPY`, it gives up (``Refused``, or PostgreSQL's error), and the import
/// rolls back to before it and stages the file instead, whose checks name every problem by line
/// as an ordinary import does. The rows must never break a table constraint during the `COPY`
/// itself: PostgresNIO 1.33.2 loses the pending write of a `COPY` whose `ErrorResponse` comes
/// while the write waits for the socket to drain, and the import then waits for ever (seen in a
/// run of the whole test suite; `ExtendedQueryStateMachine.setAndFireError` drops the promise of
/// `.copyingData(.pendingBackpressureRelieve)`).
struct DirectLoad {
    struct Plan: Sendable {
        /// The table's column for each of the kind's columns, in their order.
        var columns: [Column]
        /// One row: the communes of the loaded rows (for the aggregates), read after the load
        /// through the rebuilt indexes.
        var touchedCommunes: String
        /// Whether a row's checked values (in the kind's column order, all present) keep the
        /// table's constraints that span columns; the fields' rules keep the others.
        var rowIsValid: @Sendable ([String?]) -> Bool = { _ in true }
    }

    enum Column: Sendable {
        /// The table's column of this name takes the field's value.
        case value(String)
        /// The field is the code of a row of `table` (which has `code` and `id`), whose id goes in
        /// the column of this name.
        case id(String, of: String)

        var name: String {
            switch self {
            case .value(let name), .id(let name, _): name
            }
        }
    }

    /// A record the direct load cannot write as it is.
    struct Refused: Error, CustomStringConvertible {
        var description: String { "a record of the file has a problem; staging it to name them all" }
    }

    /// The ids of every row of `table` by code.
    static func ids(of table: String, on connection: PostgresConnection, logger: Logger) async throws -> CodeTable {
        var expected = 0
        let estimate = try await connection.query(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = \(table)::regclass", logger: logger)
        for try await rows in estimate.decode(Int64.self) { expected = Int(rows) }
        var ids = CodeTable(expectedCount: expected)
        // In arrays of 100,000: a row each took PostgresNIO's decoding most of the 16.6 s that
        // fetching the national seed's 6.8 M borrowers took (psql: 3.2 s). Each array is one range
        // of ids read through the primary key, so the first comes at once and the server needs no
        // sort (`GROUP BY id / 100000` sorted all 6.8 M rows first: 6.0 s on the server, this 3.2 s).
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT chunk.codes, chunk.ids
            FROM (SELECT min(id) AS first_id, max(id) AS last_id FROM \(table)) AS bounds,
                 generate_series(bounds.first_id, bounds.last_id, 100000) AS start,
                 LATERAL (SELECT array_agg(code) AS codes, array_agg(id) AS ids
                          FROM \(table) WHERE id >= start AND id < start + 100000) AS chunk
            WHERE chunk.ids IS NOT NULL
            """), logger: logger)
        for try await (codes, numbers) in rows.decode(([String], [Int64]).self) {
            for (code, id) in zip(codes, numbers) {
                // Twice the same bytes: the table's unique index forbids it; refuse rather than pick one.
                guard ids.insert(code, id: id) else { throw Refused() }
            }
        }
        return ids
    }
}

/// Checks each record's fields by their rules, as ``Stager`` does, and writes it as a row of the
/// table in `COPY`'s text format, codes of other records replaced by their ids.
struct DirectWriter {
    private let rules: [ImportField]
    private let ids: [CodeTable?]
    private let rowIsValid: @Sendable ([String?]) -> Bool
    /// The current record's checked values, kept to spare an allocation a row.
    private var values: [String?] = []
    private(set) var rows = 0
    /// Records given to ``write(_:into:)``, the refused one included.
    private(set) var read = 0

    /// - Parameter ids: for each column of `plan` that takes an id, the ids by code.
    init(kind: ImportKind, plan: DirectLoad.Plan, ids: [String: CodeTable]) {
        rules = kind.fields.map(\.rule)
        self.ids = plan.columns.map { column in
            if case .id(_, let table) = column { ids[table] } else { nil }
        }
        rowIsValid = plan.rowIsValid
        values.reserveCapacity(rules.count)
    }

    /// Writes `record`; false, writing nothing, if anything in it is wrong.
    mutating func write(_ record: CSVRecord, into buffer: inout ByteBuffer) -> Bool {
        read += 1
        guard record.problem == nil, record.fields.count == rules.count else { return false }
        values.removeAll(keepingCapacity: true)
        for (index, field) in record.fields.enumerated() {
            guard case .value(let value) = rules[index].check(field) else { return false }
            values.append(value)
        }
        guard rowIsValid(values) else { return false }
        let start = buffer.writerIndex
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            if let ids = self.ids[index] {
                guard let value, let id = ids.id(of: value) else {
                    buffer.moveWriterIndex(to: start)
                    return false
                }
                buffer.writeString(String(id))
            } else if let value {
                Stager.writeEscaped(value, into: &buffer)
            } else {
                buffer.writeStaticString("\\N")
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
        rows += 1
        return true
    }
}

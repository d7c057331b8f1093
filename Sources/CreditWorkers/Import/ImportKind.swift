/// The kinds of file `creditops import` takes, each with the columns of its header (DESIGN.md)
/// and the rule of each column. Import units, then points, groups, borrowers, loans; inspections
/// and reports after the records they name.
public enum ImportKind: String, Sendable, CaseIterable, Codable {
    case units
    case points
    case groups
    case borrowers
    case loans
    case inspections
    case reports

    /// Header columns in file order, each with its rule.
    public var fields: [(name: String, rule: ImportField)] {
        switch self {
        case .units:
            [("code", .code), ("name", .requiredText), ("level", .level), ("parent_code", .optionalCode),
             ("contact_name", .optionalText), ("contact_phone", .phone)]
        case .groups:
            [("code", .code), ("name", .requiredText), ("commune_code", .code), ("leader_name", .optionalText),
             ("leader_phone", .phone), ("point_code", .optionalCode)]
        case .borrowers:
            [("code", .code), ("name", .requiredText), ("group_code", .code), ("phone", .phone),
             ("savings_balance", .money)]
        case .loans:
            [("code", .code), ("borrower_code", .code), ("program", .requiredText), ("principal", .money),
             ("outstanding", .money), ("disbursed_on", .date), ("due_on", .date)]
        case .points:
            [("code", .code), ("commune_code", .code), ("session_day", .sessionDay), ("session_time", .time),
             ("location", .optionalText)]
        case .inspections:
            [("inspection_code", .code), ("inspector_unit_code", .code), ("inspected_on", .date),
             ("group_code", .code), ("borrower_code", .code)]
        case .reports:
            [("report_code", .code), ("unit_code", .code), ("due_on", .date), ("submitted_on", .optionalDate)]
        }
    }

    public var columns: [String] { fields.map(\.name) }

    /// The set-based part of an import: checks over the staging table, the counts, the merge.
    var plan: ImportPlan {
        switch self {
        case .units: .units
        case .points: .points
        case .groups: .groups
        case .borrowers: .borrowers
        case .loans: .loans
        case .inspections: .inspections
        case .reports: .reports
        }
    }
}

/// SQL of one kind of import, run against the temporary table `staged` (column `line`, then the
/// file's columns with the types of their rules) inside the import's transaction.
struct ImportPlan: Sendable {
    /// Each a SELECT of (line, column, reason) for every row it finds wrong.
    var checks: [String]
    /// One row: inserted, updated, removed, computed before the merge; with `marksUnits`, a
    /// fourth column: the units whose figures the merge changes (the communes of the rows it
    /// inserts or changes, before and after).
    var counts: String
    /// Statements that write the staged rows into the real tables.
    var merge: [String]
    /// The tables the merge writes, analyzed after a large import so that the queries that
    /// follow (the aggregates' among them) are planned for the new sizes, not for empty tables.
    var tables: [String]
    /// The import marks the units of the counts' fourth column for recomputing itself, and the
    /// tables' aggregate triggers stand aside (schema step 20): one hashed join over the staging
    /// table instead of an index probe per written row.
    var marksUnits = false
    /// How a large import loads its main table when that is empty. See ``FirstLoad``.
    var firstLoad: FirstLoad.Plan? = nil

    /// Rows whose `key` columns repeat an earlier row of the file.
    static func duplicates(of key: [String], column: String, describe: String) -> String {
        let keyList = key.joined(separator: ", ")
        let present = key.map { "\($0) IS NOT NULL" }.joined(separator: " AND ")
        return """
            SELECT line, '\(column)', format(\(describe) || ' (first on line %s)', \(keyList), first_line)
            FROM (SELECT line, \(keyList), min(line) OVER (PARTITION BY \(keyList)) AS first_line
                  FROM staged WHERE \(present)) AS repeated
            WHERE line > first_line
            """
    }

    /// Rows naming a commune that does not exist or is not a commune.
    static func unknownCommune(column: String) -> String {
        """
        SELECT s.line, '\(column)',
               CASE WHEN u.id IS NULL THEN format('unknown commune %s', s.\(column))
                    ELSE format('%s is a %s, not a commune', s.\(column), u.level) END
        FROM staged s LEFT JOIN units u ON u.code = s.\(column)
        WHERE s.\(column) IS NOT NULL AND (u.id IS NULL OR u.level <> 'commune')
        """
    }

    /// Rows naming a record of `table` by a `code` that does not exist.
    static func unknown(_ what: String, column: String, table: String) -> String {
        """
        SELECT s.line, '\(column)', format('unknown \(what) %s', s.\(column))
        FROM staged s
        WHERE s.\(column) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \(table) t WHERE t.code = s.\(column))
        """
    }
}

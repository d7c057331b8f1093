import CreditDomain
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The lists a district officer works through, each over the unit's subtree: groups that still
/// need an inspection this year, overdue loans without an outcome, reports due or late, reminders
/// that failed or expired. Each row links to the page where it is dealt with.
enum ActionList: String, CaseIterable, Sendable {
    case inspections, followups, reports, reminders

    /// At most this many rows: a list is a to-do list, not an archive.
    static let limit = 1000

    struct Rows: Sendable {
        var table: ExportTable
        /// The page where each row is dealt with.
        var links: [String]
    }

    func load(unit: String, unitName: String, year: Int, today: CalendarDate, texts: DashboardTexts, now: Date,
              client: PostgresClient, logger: Logger) async throws -> Rows {
        let subtree = """
            WITH RECURSIVE subtree (id) AS (
                SELECT id FROM units WHERE code = $1
                UNION ALL SELECT u.id FROM units u JOIN subtree s ON u.parent_id = s.id
            )
            """
        var rows: [[ExportTable.Cell]] = [], links: [String] = []
        func link(_ code: String) -> String { DashboardPage.link(code, year: year) }
        switch self {
        case .inspections:
            var query = PostgresQuery(unsafeSQL: subtree + """
                SELECT cu.code, cu.name, c.item_code, c.item_name, c.done::int8, c.required::int8
                FROM subtree s JOIN units cu ON cu.id = s.id AND cu.level = 'commune'
                JOIN coverage_items c ON c.unit_id = cu.id AND c.year = $2 AND c.status = 'not_compliant'
                ORDER BY cu.code, c.item_code LIMIT \(Self.limit)
                """)
            query.binds.append(unit)
            query.binds.append(year)
            for try await (code, name, group, groupName, done, required) in try await client.query(query, logger: logger).decode(
                (String, String, String, String, Int64, Int64).self)
            {
                rows.append([.text(name), .text("\(groupName) (\(group))"), .integer(Int(done)), .integer(Int(required)),
                             .integer(max(Int(required - done), 0))])
                links.append(link(code))
            }
        case .followups:
            var query = PostgresQuery(unsafeSQL: subtree + """
                SELECT cu.code, cu.name, g.name, b.name, l.code, l.outstanding, l.due_on::text, ($2::date - l.due_on)::int8, f.overdue_days::int8
                FROM subtree s JOIN units cu ON cu.id = s.id AND cu.level = 'commune'
                JOIN groups g ON g.commune_id = cu.id JOIN borrowers b ON b.group_id = g.id JOIN loans l ON l.borrower_id = b.id
                LEFT JOIN LATERAL (SELECT * FROM followups f WHERE f.loan_id = l.id ORDER BY f.due_on DESC, f.overdue_days DESC LIMIT 1) f ON true
                WHERE l.outstanding > 0 AND l.due_on < $2::date AND l.status = 'normal' AND f.outcome IS NULL
                ORDER BY l.due_on, l.code LIMIT \(Self.limit)
                """)
            query.binds.append(unit)
            query.binds.append(today.iso)
            for try await (code, commune, group, borrower, loan, outstanding, due, days, step) in try await client.query(query, logger: logger).decode(
                (String, String, String, String, String, Int64, String, Int64, Int64?).self)
            {
                rows.append([.text(commune), .text(group), .text(borrower), .text(loan), .integer(Int(outstanding)),
                             CalendarDate(iso: due).map { .date($0) } ?? .empty, .integer(Int(days)), step.map { .integer(Int($0)) } ?? .empty])
                links.append(link(code))
            }
        case .reports:
            var query = PostgresQuery(unsafeSQL: subtree + """
                SELECT u.code, u.name, t.name, o.period, o.due_on::text, greatest($2::date - o.due_on, 0)::int8
                FROM subtree s JOIN report_obligations o ON o.unit_id = s.id JOIN units u ON u.id = o.unit_id
                JOIN report_types t ON t.id = o.report_type_id
                WHERE o.submitted_on IS NULL AND o.due_on <= $2::date + 14
                ORDER BY o.due_on, u.code LIMIT \(Self.limit)
                """)
            query.binds.append(unit)
            query.binds.append(today.iso)
            for try await (code, name, report, period, due, late) in try await client.query(query, logger: logger).decode(
                (String, String, String, String, String, Int64).self)
            {
                rows.append([.text(name), .text(report), .text(period), CalendarDate(iso: due).map { .date($0) } ?? .empty, .integer(Int(late))])
                links.append(link(code))
            }
        case .reminders:
            var query = PostgresQuery(unsafeSQL: subtree + """
                SELECT n.unit_code, coalesce(u.name, n.unit_code), n.planned_for::text, n.kind::text, n.recipient_name, n.state::text,
                       coalesce(left(n.last_error, 200), '')
                FROM subtree s JOIN notifications n ON n.unit_id = s.id LEFT JOIN units u ON u.id = n.unit_id
                WHERE n.state IN ('failed', 'expired') AND n.created_at > now() - interval '30 days'
                ORDER BY n.planned_for DESC, n.id DESC LIMIT \(Self.limit)
                """)
            query.binds.append(unit)
            for try await (code, name, planned, kind, recipient, state, error) in try await client.query(query, logger: logger).decode(
                (String, String, String, String, String, String, String).self)
            {
                rows.append([CalendarDate(iso: planned).map { .date($0) } ?? .empty, .text(texts.reminderKinds[kind] ?? kind), .text(recipient),
                             .text(name), .text(texts.reminderStates[state] ?? state), .text(error)])
                links.append(link(code))
            }
        }
        let title = texts.actionTitles[rawValue] ?? rawValue
        return Rows(
            table: ExportTable(
                title: texts.exportTitle(title, unitName, unit, year, DashboardExports.moment(now, texts)),
                columns: texts.actionColumns[rawValue] ?? [], rows: rows, fileName: "\(unit)-\(rawValue)-\(year)"),
            links: links)
    }

    /// Rows in the order of column `column`, both kept together; ties keep the list's own order.
    static func sorted(_ rows: Rows, by column: Int, descending: Bool) -> Rows {
        guard column >= 0, column < rows.table.columns.count else { return rows }
        let order = rows.table.rows.indices.sorted { a, b in
            let (x, y) = (rows.table.rows[a][column], rows.table.rows[b][column])
            if x == y { return a < b }
            return descending ? Self.less(y, x) : Self.less(x, y)
        }
        var sorted = rows
        sorted.table.rows = order.map { rows.table.rows[$0] }
        sorted.links = order.map { rows.links[$0] }
        return sorted
    }

    private static func less(_ x: ExportTable.Cell, _ y: ExportTable.Cell) -> Bool {
        switch (x, y) {
        case (.integer(let a), .integer(let b)): a < b
        case (.percent(let a), .percent(let b)): a < b
        case (.date(let a), .date(let b)): a.iso < b.iso
        case (.text(let a), .text(let b)): a.localizedStandardCompare(b) == .orderedAscending
        case (.empty, _): true
        case (_, .empty): false
        default: String(describing: x) < String(describing: y)
        }
    }
}

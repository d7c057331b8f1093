public import Foundation
public import Logging
public import PostgresNIO

/// One unit's figures as the dashboards and `creditops aggregates show` read them.
public struct UnitFigures: Sendable, Codable {
    public struct Coverage: Sendable, Codable {
        public var rule: String
        public var required: Int
        public var done: Int
        public var notApplicable: Int
        public var missing: [String]
        public var percentage: Double?
        public var status: String
        public var subtreeUnits: Int
        public var subtreeCompliant: Int
        public var subtreeNotApplicable: Int
        public var updatedAt: Date
    }

    public struct Item: Sendable, Codable {
        public var code: String
        public var name: String
        public var rule: String
        public var required: Int
        public var done: Int
        public var status: String
    }

    public struct Loans: Sendable, Codable {
        public var asOf: String
        public var loans: Int
        public var outstanding: Int
        public var overdueLoans: Int
        public var overdueAmount: Int
        public var overdueRatio: Double?
        public var members: Int
        public var savers: Int
        public var savingsParticipation: Double?
        public var updatedAt: Date
    }

    public var code: String
    public var name: String
    public var level: String
    public var year: Int
    public var coverage: Coverage?
    public var items: [Item]
    public var loans: Loans?
    /// The units directly below, each with its own figures (and no further children).
    public var children: [UnitFigures]
}

/// Reads the aggregate tables; never computes.
public struct AggregateReader: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The unit with this code and the units directly below it, or nil for an unknown code.
    public func unit(code: String, year: Int) async throws -> UnitFigures? {
        var found: (id: Int64, figures: UnitFigures)?
        let rows = try await client.query("SELECT id, code, name, level::text FROM units WHERE code = \(code)", logger: logger)
        for try await (id, code, name, level) in rows.decode((Int64, String, String, String).self) {
            found = (id, UnitFigures(code: code, name: name, level: level, year: year, coverage: nil, items: [], loans: nil, children: []))
        }
        guard let (id, found) = found else { return nil }
        var figures = found
        let all = try await figuresOf(unitAndChildrenOf: id, year: year)
        figures = all[id] ?? figures
        figures.items = try await items(of: id, year: year)
        figures.children = all.filter { $0.key != id }.values.sorted { $0.code < $1.code }
        return figures
    }

    private func figuresOf(unitAndChildrenOf id: Int64, year: Int) async throws -> [Int64: UnitFigures] {
        let rows = try await client.query("""
            SELECT u.id, u.code, u.name, u.level::text,
                   c.rule, c.required, c.done, c.not_applicable, c.missing, c.percentage::float8, c.status::text,
                   c.subtree_units, c.subtree_compliant, c.subtree_not_applicable, c.updated_at,
                   f.as_of::text, f.loans, f.outstanding, f.overdue_loans, f.overdue_amount, f.overdue_ratio::float8,
                   f.members, f.savers, f.savings_participation::float8, f.updated_at
            FROM units u
            LEFT JOIN coverage c ON c.unit_id = u.id AND c.year = \(year)
            LEFT JOIN loan_figures f ON f.unit_id = u.id
            WHERE u.id = \(id) OR u.parent_id = \(id)
            """, logger: logger)
        var result: [Int64: UnitFigures] = [:]
        for try await row in rows {
            let (id, code, name, level) = try row.decode((Int64, String, String, String).self)
            var figures = UnitFigures(code: code, name: name, level: level, year: year, coverage: nil, items: [], loans: nil, children: [])
            let cells = row.makeRandomAccess()
            if let rule = try cells[4].decode(String?.self) {
                figures.coverage = .init(
                    rule: rule, required: try cells[5].decode(Int.self), done: try cells[6].decode(Int.self),
                    notApplicable: try cells[7].decode(Int.self), missing: try cells[8].decode([String].self),
                    percentage: try cells[9].decode(Double?.self), status: try cells[10].decode(String.self),
                    subtreeUnits: try cells[11].decode(Int.self), subtreeCompliant: try cells[12].decode(Int.self),
                    subtreeNotApplicable: try cells[13].decode(Int.self), updatedAt: try cells[14].decode(Date.self))
            }
            if let asOf = try cells[15].decode(String?.self) {
                figures.loans = .init(
                    asOf: asOf, loans: try cells[16].decode(Int.self), outstanding: try cells[17].decode(Int.self),
                    overdueLoans: try cells[18].decode(Int.self), overdueAmount: try cells[19].decode(Int.self),
                    overdueRatio: try cells[20].decode(Double?.self), members: try cells[21].decode(Int.self),
                    savers: try cells[22].decode(Int.self), savingsParticipation: try cells[23].decode(Double?.self),
                    updatedAt: try cells[24].decode(Date.self))
            }
            result[id] = figures
        }
        return result
    }

    private func items(of id: Int64, year: Int) async throws -> [UnitFigures.Item] {
        let rows = try await client.query("""
            SELECT item_code, item_name, rule, required, done, status::text
            FROM coverage_items WHERE unit_id = \(id) AND year = \(year) ORDER BY item_code
            """, logger: logger)
        var items: [UnitFigures.Item] = []
        for try await (code, name, rule, required, done, status) in rows.decode((String, String, String, Int, Int, String).self) {
            items.append(.init(code: code, name: name, rule: rule, required: required, done: done, status: status))
        }
        return items
    }
}

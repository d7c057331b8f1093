import CreditDomain
import CreditWorkers
import Logging
import PostgresNIO

/// A hand-built tree whose coverage is computed by hand in the tests (see CoverageTests):
///
///     P (province)
///     ├── D (district)   C7: 7 groups (G7a has 3 borrowers) · C6: 6 groups · C0: no groups
///     ├── D2 (district)  C2: 1 group
///     └── D3 (district)  C3: no groups
///     Q (province, two-tier)  Q1: 3 groups, directly below
///
/// Every group has 6 borrowers except G7a (3). Each commune has one transaction point.
enum AggregateFixtures {
    static let today = CalendarDate(year: 2026, month: 11, day: 27)

    static let units = """
        code,name,level,parent_code,contact_name,contact_phone
        P,Tỉnh đoàn P,province,,,
        D,Huyện đoàn D,district,P,,
        D2,Huyện đoàn D2,district,P,,
        D3,Huyện đoàn D3,district,P,,
        C7,Đoàn xã C7,commune,D,,
        C6,Đoàn xã C6,commune,D,,
        C0,Đoàn xã C0,commune,D,,
        C2,Đoàn xã C2,commune,D2,,
        C3,Đoàn xã C3,commune,D3,,
        Q,Tỉnh đoàn Q,province,,,
        Q1,Đoàn xã Q1,commune,Q,,
        """

    static let groupsByCommune: [(commune: String, groups: [String])] = [
        ("C7", ["G7a", "G7b", "G7c", "G7d", "G7e", "G7f", "G7g"]),
        ("C6", ["G6a", "G6b", "G6c", "G6d", "G6e", "G6f"]),
        ("C2", ["G2a"]),
        ("Q1", ["GQa", "GQb", "GQc"]),
    ]

    static func borrowers(of group: String) -> [String] {
        (1...(group == "G7a" ? 3 : 6)).map { "\(group)-\($0)" }
    }

    static func importTree(client: PostgresClient) async throws {
        try await ImportFixtures.importText(.units, units, client: client)
        let communes = ["C7", "C6", "C0", "C2", "C3", "Q1"]
        try await ImportFixtures.importText(.points, "code,commune_code,session_day,session_time,location\n"
            + communes.map { "P-\($0),\($0),10,07:30," }.joined(separator: "\n"), client: client)
        var groups = "code,name,commune_code,leader_name,leader_phone,point_code\n"
        var borrowers = "code,name,group_code,phone,savings_balance\n"
        var loans = "code,borrower_code,program,principal,outstanding,disbursed_on,due_on\n"
        for (commune, codes) in groupsByCommune {
            for group in codes {
                groups += "\(group),Tổ \(group),\(commune),,,\n"
                for borrower in Self.borrowers(of: group) {
                    borrowers += "\(borrower),Người vay \(borrower),\(group),,\(borrower.hasSuffix("-1") ? 0 : 100000)\n"
                    // One loan each; those of a group's second borrower fell due in October.
                    let due = borrower.hasSuffix("-2") ? "2026-10-01" : "2028-06-30"
                    loans += "L-\(borrower),\(borrower),Cho vay hộ nghèo,30000000,20000000,2024-01-15,\(due)\n"
                }
            }
        }
        try await ImportFixtures.importText(.groups, groups, client: client)
        try await ImportFixtures.importText(.borrowers, borrowers, client: client)
        try await ImportFixtures.importText(.loans, loans, client: client)
    }

    /// Inspection rows: (code, inspector, date, group, borrowers).
    static func inspections(_ checks: [(String, String, String, String, [String])]) -> String {
        var text = "inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code\n"
        for (code, inspector, date, group, borrowers) in checks {
            for borrower in borrowers {
                text += "\(code),\(inspector),\(date),\(group),\(borrower)\n"
            }
        }
        return text
    }

    /// The first `count` borrowers of a group.
    static func first(_ count: Int, of group: String) -> [String] {
        Array(borrowers(of: group).prefix(count))
    }
}

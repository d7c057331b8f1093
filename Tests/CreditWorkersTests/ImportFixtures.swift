import CreditWorkers
import Foundation
import Logging
import PostgresNIO
import TestSupport

/// A small valid data set (one province, one district, two communes — one with two points —,
/// groups, borrowers), and helpers to import CSV text through real files.
enum ImportFixtures {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static let units = """
        code,name,level,parent_code,contact_name,contact_phone
        TQ,Tỉnh đoàn Tuyên Quang,province,,Nguyễn Văn An,0912345678
        TQ-YS,Huyện đoàn Yên Sơn,district,TQ,Trần Thị Bình,0987654321
        TQ-YS-TB,Đoàn xã Thái Bình,commune,TQ-YS,Lê Văn Cường,0900000001
        TQ-YS-KP,Đoàn xã Kim Phú,commune,TQ-YS,Phạm Thị Dung,0900000002
        """
    static let points = """
        code,commune_code,session_day,session_time,location
        TB-1,TQ-YS-TB,17,07:30,Trụ sở UBND xã Thái Bình
        KP-1,TQ-YS-KP,5,08:00,Nhà văn hóa thôn 3
        KP-2,TQ-YS-KP,31,07:30,Nhà văn hóa thôn 7
        """
    static let groups = """
        code,name,commune_code,leader_name,leader_phone,point_code
        G1,Tổ TK&VV thôn 1,TQ-YS-TB,Hoàng Văn Em,0911111111,
        G2,Tổ TK&VV thôn 3,TQ-YS-KP,Đỗ Thị Phương,0922222222,KP-1
        """
    static let borrowers = """
        code,name,group_code,phone,savings_balance
        B1,Vũ Văn Giang,G1,,150000
        B2,Bùi Thị Hạnh,G1,0933333333,0
        B3,Ngô Văn Ích,G2,,2000000
        """
    static let loans = """
        code,borrower_code,program,principal,outstanding,disbursed_on,due_on
        L1,B1,Cho vay hộ nghèo,50000000,30000000,2024-03-01,2027-03-01
        L2,B3,"Cho vay học sinh, sinh viên",40000000,0,2020-09-01,2024-09-01
        """

    /// Writes `text` to a temporary file and imports it; `firstLoadRows` as ``Importer``'s, its
    /// default when nil.
    @discardableResult
    static func importText(_ kind: ImportKind, _ text: String, client: PostgresClient, firstLoadRows: Int? = nil) async throws -> ImportSummary {
        try await importBytes(kind, Array((text + "\n").utf8), client: client, firstLoadRows: firstLoadRows)
    }

    @discardableResult
    static func importBytes(_ kind: ImportKind, _ bytes: [UInt8], client: PostgresClient, firstLoadRows: Int? = nil) async throws -> ImportSummary {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-\(UUID().uuidString).csv").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let importer = firstLoadRows.map { Importer(client: client, logger: logger, firstLoadRows: $0) } ?? Importer(client: client, logger: logger)
        return try await importer.importFile(kind, path: path)
    }

    /// Imports units, points, groups and borrowers (and loans when asked).
    static func importBase(client: PostgresClient, loans withLoans: Bool = true) async throws {
        try await importText(.units, units, client: client)
        try await importText(.points, points, client: client)
        try await importText(.groups, groups, client: client)
        try await importText(.borrowers, borrowers, client: client)
        if withLoans {
            try await importText(.loans, loans, client: client)
        }
    }

    /// Every domain table's rows, as text, to show that a rejected import changed nothing.
    static func snapshot(_ client: PostgresClient) async throws -> [String] {
        var tables: [String] = []
        for table in ["units", "points", "groups", "borrowers", "loans", "inspections", "inspected_borrowers", "report_obligations"] {
            let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM \(table) t"), logger: logger)
            for try await text in rows.decode(String.self) {
                tables.append("\(table): \(text)")
            }
        }
        return tables
    }
}

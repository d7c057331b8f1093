public import Foundation
public import PostgresNIO

/// A commune whose `count` loans all fell due yesterday (in Vietnam), imported with the real
/// `creditops import`: planning the overdue reminders then gives one reminder per loan, to the
/// borrower's group leader (day 1 of the escalation), with the loan's code in its key.
public enum OverdueLoans {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Imports the units, a point, the groups (about 40 borrowers each), the borrowers and their
    /// loans, and opens the sending hours to the whole day so that deliveries need not wait for 07:00.
    public static func prepare(count: Int, client: PostgresClient, environment: [String: String]) async throws {
        try await importCSV("units", """
            code,name,level,parent_code,contact_name,contact_phone
            TQ,Tỉnh đoàn Tuyên Quang,province,,,
            TQ-YS,Huyện đoàn Yên Sơn,district,TQ,,
            TQ-YS-TB,Đoàn xã Thái Bình,commune,TQ-YS,Lê Văn Cường,0900000001
            """, environment)
        try await importCSV("points", "code,commune_code,session_day,session_time,location\nTB-1,TQ-YS-TB,17,07:30,", environment)
        let groups = max(30, count / 40)
        try await importCSV("groups", "code,name,commune_code,leader_name,leader_phone,point_code\n"
            + (1...groups).map { "G\($0),Tổ \($0),TQ-YS-TB,Tổ trưởng \($0),\(String(format: "09%08d", 10_000_000 + $0)),TB-1" }
                .joined(separator: "\n"),
            environment)
        try await importCSV("borrowers", "code,name,group_code,phone,savings_balance\n"
            + (1...count).map { "B\($0),Hộ vay \($0),G\($0 % groups + 1),,0" }.joined(separator: "\n"), environment)
        let yesterday = try await client.text("SELECT ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - 1)::text")
        try await importCSV("loans", "code,borrower_code,program,principal,outstanding,disbursed_on,due_on\n"
            + (1...count).map { "L\($0),B\($0),Cho vay hộ nghèo,10000000,5000000,2024-01-01,\(yesterday)" }.joined(separator: "\n"),
            environment)
        try await client.query("UPDATE reminder_settings SET send_from = '00:00', send_until = '23:59:59'", logger: silentLogger)
    }

    /// The loan code in an overdue reminder's idempotency key (`overdue:L17:…` → `L17`).
    public static func loanCode(inKey key: String) -> Substring? {
        let parts = key.split(separator: ":")
        return parts.count > 1 && parts[0] == "overdue" ? parts[1] : nil
    }

    /// Runs `creditops import kind` on `text` written to a temporary file.
    public static func importCSV(_ kind: String, _ text: String, _ environment: [String: String]) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-\(UUID().uuidString).csv").path
        try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try await CreditOpsProcess.run(["import", kind, path], environment: environment, timeout: .seconds(300))
        guard output.status == 0 else {
            throw Failure(description: "creditops import \(kind) exited \(output.status): \(output.stderr)")
        }
    }
}

extension PostgresClient {
    /// The one integer a query returns (-1 when it returns no row).
    public func integer(_ sql: String) async throws -> Int {
        for try await value in try await query(PostgresQuery(unsafeSQL: sql), logger: silentLogger).decode(Int.self) {
            return value
        }
        return -1
    }

    /// The one text a query returns ("" when it returns no row).
    public func text(_ sql: String) async throws -> String {
        for try await value in try await query(PostgresQuery(unsafeSQL: sql), logger: silentLogger).decode(String.self) {
            return value
        }
        return ""
    }

    /// The first column of every row, as text.
    public func texts(_ sql: String) async throws -> [String] {
        var values: [String] = []
        for try await value in try await query(PostgresQuery(unsafeSQL: sql), logger: silentLogger).decode(String.self) {
            values.append(value)
        }
        return values
    }
}

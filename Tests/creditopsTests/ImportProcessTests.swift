import Foundation
import PostgresNIO
import TestSupport
import Testing

/// `creditops import`, `creditops run` and `creditops aggregates show` as an operator uses them.
@Suite struct ImportProcessTests {
    private func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-\(UUID().uuidString).csv").path
        try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aBadFileIsRejectedWithItsLinesAndAGoodOneFeedsTheDashboardFigures() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            let units = try write("""
                code,name,level,parent_code,contact_name,contact_phone
                TQ,Tỉnh đoàn Tuyên Quang,province,,,
                TQ-YS,Huyện đoàn Yên Sơn,district,TQ,,
                TQ-YS-TB,Đoàn xã Thái Bình,commune,TQ-YS,,
                """)
            let points = try write("code,commune_code,session_day,session_time,location\nTB-1,TQ-YS-TB,17,07:30,Thôn 1")
            let groups = try write("code,name,commune_code,leader_name,leader_phone,point_code\nG1,Tổ thôn 1,TQ-YS-TB,,,")
            let badBorrowers = try write("""
                code,name,group_code,phone,savings_balance
                B1,Vũ Văn Giang,G1,,0
                B2,Bùi Thị Hạnh,G-404,,0
                B3,Ngô Văn Ích,G1,,-5
                """)
            defer { for path in [units, points, groups, badBorrowers] { try? FileManager.default.removeItem(atPath: path) } }

            for (kind, path) in [("units", units), ("points", points), ("groups", groups)] {
                let output = try await CreditOpsProcess.run(["import", kind, path], environment: environment)
                #expect(output.status == 0, "\(kind): \(output.stderr)")
            }
            let rejected = try await CreditOpsProcess.run(["import", "borrowers", badBorrowers], environment: environment)
            #expect(rejected.status == 1)
            #expect(rejected.stderr.contains("borrowers: 2 problems found; nothing was imported"))
            #expect(rejected.stderr.contains("line 3, group_code: unknown group G-404"))
            #expect(rejected.stderr.contains("line 4, savings_balance: negative money \"-5\""))
            #expect(!rejected.stderr.contains("Fatal error"))

            let goodBorrowers = try write("""
                code,name,group_code,phone,savings_balance
                B1,Vũ Văn Giang,G1,,0
                B2,Bùi Thị Hạnh,G1,,10000
                B3,Ngô Văn Ích,G1,,0
                """)
            defer { try? FileManager.default.removeItem(atPath: goodBorrowers) }
            let imported = try await CreditOpsProcess.run(["import", "borrowers", goodBorrowers, "--json"], environment: environment)
            #expect(imported.status == 0, "\(imported.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(imported.stdout.utf8)) as? [String: Any]
            #expect(summary?["inserted"] as? Int == 3)

            // With workers running, an inspection of every borrower of the commune's only group
            // makes the commune compliant in its own inspections.
            let worker = try CreditOpsProcess.start(["run", "--http", "127.0.0.1:0", "--no-leader", "--log-level", "warning"], environment: environment)
            defer { worker.kill(signal: SIGKILL) }
            let inspections = try write("""
                inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code
                KT-1,TQ-YS-TB,2026-05-04,G1,B1
                KT-1,TQ-YS-TB,2026-05-04,G1,B2
                KT-1,TQ-YS-TB,2026-05-04,G1,B3
                """)
            defer { try? FileManager.default.removeItem(atPath: inspections) }
            #expect(try await CreditOpsProcess.run(["import", "inspections", inspections], environment: environment).status == 0)
            let compliant = try await eventually(timeout: .seconds(20)) {
                let shown = try await CreditOpsProcess.run(["aggregates", "show", "TQ-YS-TB", "--year", "2026"], environment: environment)
                return shown.stdout.contains("coverage (commune rule): 1/1 compliant")
            }
            #expect(compliant)
            let district = try await CreditOpsProcess.run(["aggregates", "show", "TQ-YS", "--year", "2026", "--json"], environment: environment)
            let figures = try JSONSerialization.jsonObject(with: Data(district.stdout.utf8)) as? [String: Any]
            let loans = figures?["loans"] as? [String: Any]
            #expect(loans?["members"] as? Int == 3)
            #expect(loans?["savers"] as? Int == 1)
            worker.kill(signal: SIGTERM)
            #expect(await worker.wait(timeout: .seconds(15)))
        }
    }
}

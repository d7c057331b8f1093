import CreditWorkers
import Foundation
import PostgresNIO
import TestSupport
import Testing

@Suite struct ImportTests {
    /// One bad file: the problem expected on one line and column, with words of its reason.
    struct BadFile: CustomTestStringConvertible, Sendable {
        var name: String
        var kind: ImportKind
        var text: String
        var line: Int
        var column: String?
        var reason: String
        var testDescription: String { name }
    }

    static let badFiles: [BadFile] = [
        BadFile(name: "unknown parent unit", kind: .units, text: """
            code,name,level,parent_code,contact_name,contact_phone
            TQ-YS-NEW,Đoàn xã Mới,commune,TQ-YS,,
            TQ-XX,Huyện đoàn X,district,NOPE,,
            """, line: 3, column: "parent_code", reason: "unknown parent unit NOPE"),
        BadFile(name: "cycle in the unit tree", kind: .units, text: """
            code,name,level,parent_code,contact_name,contact_phone
            A,Huyện A,district,B,,
            B,Huyện B,district,A,,
            """, line: 2, column: "parent_code", reason: "cycle in the unit tree: A → B → A"),
        BadFile(name: "an existing unit moved below its own child", kind: .units, text: """
            code,name,level,parent_code,contact_name,contact_phone
            TQ,Tỉnh đoàn Tuyên Quang,province,TQ-YS,,
            """, line: 2, column: "parent_code", reason: "cycle in the unit tree: TQ → TQ-YS → TQ"),
        BadFile(name: "bad level", kind: .units, text: """
            code,name,level,parent_code,contact_name,contact_phone
            TQ-YS-P1,Phường 1,ward,TQ-YS,,
            """, line: 2, column: "level", reason: "bad level \"ward\""),
        BadFile(name: "duplicate code in the file", kind: .borrowers, text: """
            code,name,group_code,phone,savings_balance
            B10,Lý Văn Khoa,G1,,0
            B11,Lý Thị Lan,G1,,0
            B10,Lý Văn Khoa,G2,,0
            """, line: 4, column: "code", reason: "duplicate code B10 in the file (first on line 2)"),
        BadFile(name: "unknown group", kind: .borrowers, text: """
            code,name,group_code,phone,savings_balance
            B10,Lý Văn Khoa,G1,,0
            B11,Lý Thị Lan,G-404,,0
            """, line: 3, column: "group_code", reason: "unknown group G-404"),
        BadFile(name: "negative money", kind: .borrowers, text: """
            code,name,group_code,phone,savings_balance
            B10,Lý Văn Khoa,G1,,-5
            """, line: 2, column: "savings_balance", reason: "negative money \"-5\""),
        BadFile(name: "money that is not a number", kind: .loans, text: """
            code,borrower_code,program,principal,outstanding,disbursed_on,due_on
            L9,B1,Cho vay hộ nghèo,"50,000,000",0,2025-01-01,2028-01-01
            """, line: 2, column: "principal", reason: "bad amount \"50,000,000\""),
        BadFile(name: "bad date: no 30 February", kind: .loans, text: """
            code,borrower_code,program,principal,outstanding,disbursed_on,due_on
            L9,B1,Cho vay hộ nghèo,1000000,0,2025-01-01,2028-01-01
            L10,B2,Cho vay hộ nghèo,1000000,0,2026-02-30,2028-01-01
            """, line: 3, column: "disbursed_on", reason: "bad date \"2026-02-30\""),
        BadFile(name: "bad date: day first", kind: .reports, text: """
            report_code,unit_code,due_on,submitted_on
            BC-NAM,TQ-YS,15/11/2026,
            """, line: 2, column: "due_on", reason: "bad date \"15/11/2026\""),
        BadFile(name: "outstanding over the principal", kind: .loans, text: """
            code,borrower_code,program,principal,outstanding,disbursed_on,due_on
            L9,B1,Cho vay hộ nghèo,1000000,2000000,2025-01-01,2028-01-01
            """, line: 2, column: "outstanding", reason: "outstanding 2000000 is more than the principal 1000000"),
        BadFile(name: "session day 32", kind: .points, text: """
            code,commune_code,session_day,session_time,location
            TB-2,TQ-YS-TB,32,07:30,Thôn 2
            """, line: 2, column: "session_day", reason: "session day \"32\" is outside 1–31"),
        BadFile(name: "session day 0", kind: .points, text: """
            code,commune_code,session_day,session_time,location
            TB-2,TQ-YS-TB,12,07:30,Thôn 2
            TB-3,TQ-YS-TB,0,07:30,Thôn 3
            """, line: 3, column: "session_day", reason: "session day \"0\" is outside 1–31"),
        BadFile(name: "a point in a district", kind: .points, text: """
            code,commune_code,session_day,session_time,location
            YS-1,TQ-YS,12,07:30,Huyện
            """, line: 2, column: "commune_code", reason: "TQ-YS is a district, not a commune"),
        BadFile(name: "no point given where the commune has several", kind: .groups, text: """
            code,name,commune_code,leader_name,leader_phone,point_code
            G3,Tổ thôn 5,TQ-YS-TB,,,
            G4,Tổ thôn 8,TQ-YS-KP,,,
            """, line: 3, column: "point_code", reason: "commune TQ-YS-KP has 2 transaction points: say which one the group attends"),
        BadFile(name: "a point of another commune", kind: .groups, text: """
            code,name,commune_code,leader_name,leader_phone,point_code
            G3,Tổ thôn 5,TQ-YS-TB,,,KP-2
            """, line: 2, column: "point_code", reason: "transaction point KP-2 is in commune TQ-YS-KP, not TQ-YS-TB"),
        BadFile(name: "unknown commune of a group", kind: .groups, text: """
            code,name,commune_code,leader_name,leader_phone,point_code
            G3,Tổ thôn 5,TQ-YS-ZZ,,,
            """, line: 2, column: "commune_code", reason: "unknown commune TQ-YS-ZZ"),
        BadFile(name: "a borrower of another group", kind: .inspections, text: """
            inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code
            KT-1,TQ-YS,2026-05-04,G1,B1
            KT-1,TQ-YS,2026-05-04,G1,B3
            """, line: 3, column: "borrower_code", reason: "borrower B3 is in group G2, not G1"),
        BadFile(name: "an inspector not above the group", kind: .inspections, text: """
            inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code
            KT-1,TQ-YS-KP,2026-05-04,G1,B1
            """, line: 2, column: "inspector_unit_code", reason: "unit TQ-YS-KP is not above group G1"),
        BadFile(name: "rows of one inspection disagreeing", kind: .inspections, text: """
            inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code
            KT-1,TQ-YS,2026-05-04,G1,B1
            KT-1,TQ-YS,2026-05-05,G1,B2
            """, line: 3, column: "inspected_on", reason: "every row of one inspection must agree"),
        BadFile(name: "unknown report type", kind: .reports, text: """
            report_code,unit_code,due_on,submitted_on
            BC-XYZ,TQ-YS,2026-11-15,
            """, line: 2, column: "report_code", reason: "unknown report type BC-XYZ"),
        BadFile(name: "a yearly district report owed by a commune", kind: .reports, text: """
            report_code,unit_code,due_on,submitted_on
            BC-NAM,TQ-YS-TB,2026-11-15,
            """, line: 2, column: "unit_code", reason: "report BC-NAM is submitted by district units, and TQ-YS-TB is a commune"),
        BadFile(name: "SQL in a reference", kind: .borrowers, text: """
            code,name,group_code,phone,savings_balance
            B10,Lý Văn Khoa,G1'; DROP TABLE borrowers; --,,0
            """, line: 2, column: "group_code", reason: "unknown group G1'; DROP TABLE borrowers; --"),
        BadFile(name: "a huge field", kind: .borrowers, text: """
            code,name,group_code,phone,savings_balance
            B10,\(String(repeating: "Nguyễn ", count: 20_000)),G1,,0
            """, line: 2, column: "name", reason: "longer than 500 characters"),
        BadFile(name: "overflowing money", kind: .loans, text: """
            code,borrower_code,program,principal,outstanding,disbursed_on,due_on
            L9,B1,Cho vay hộ nghèo,99999999999999999999,0,2025-01-01,2028-01-01
            """, line: 2, column: "principal", reason: "is too large"),
        BadFile(name: "a row with a missing column", kind: .borrowers, text: """
            code,name,group_code,phone,savings_balance
            B10,Lý Văn Khoa,G1,0
            """, line: 2, column: nil, reason: "expected 5 columns"),
        BadFile(name: "an unterminated quote", kind: .borrowers, text: """
            code,name,group_code,phone,savings_balance
            B10,Lý Văn Khoa,G1,,0
            B11,"Lý Thị Lan,G1,,0
            """, line: 3, column: "name", reason: "opens a quote that is never closed"),
    ]

    @Test(arguments: badFiles)
    func aBadRowIsNamedAndNothingIsWritten(_ bad: BadFile) async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let before = try await ImportFixtures.snapshot(client)
            let error = await #expect(throws: ImportError.self) {
                try await ImportFixtures.importText(bad.kind, bad.text, client: client)
            }
            guard case .rejected(_, let problems, let total)? = error else {
                Issue.record("expected a rejection, got \(String(describing: error))")
                return
            }
            #expect(total == problems.count)
            let match = problems.first { $0.line == bad.line && $0.column == bad.column && $0.reason.contains(bad.reason) }
            #expect(match != nil, "expected line \(bad.line) \(bad.column ?? "-"): …\(bad.reason)…; got \(problems)")
            #expect(error?.description.contains("nothing was imported") == true)
            #expect(try await ImportFixtures.snapshot(client) == before)
        }
    }

    @Test func aWrongHeaderIsRefusedBeforeAnyRow() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let before = try await ImportFixtures.snapshot(client)
            let error = await #expect(throws: ImportError.self) {
                try await ImportFixtures.importText(.borrowers, "code,name,group,phone,savings\nB10,Lý Văn Khoa,G1,,0", client: client)
            }
            #expect(error?.description == "line 1: wrong header for borrowers: expected code,name,group_code,phone,savings_balance, found code,name,group,phone,savings; nothing was imported")
            #expect(try await ImportFixtures.snapshot(client) == before)
        }
    }

    @Test func invalidUTF8IsNamedWithItsLineAndColumn() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let before = try await ImportFixtures.snapshot(client)
            let bytes = Array("code,name,group_code,phone,savings_balance\nB10,Lý Văn Khoa,G1,,0\nB11,".utf8) + [0xC3, 0x28] + Array(",G1,,0\n".utf8)
            let error = await #expect(throws: ImportError.self) {
                try await ImportFixtures.importBytes(.borrowers, bytes, client: client)
            }
            #expect(error?.description.contains("line 3, name: is not valid UTF-8") == true, "\(String(describing: error))")
            #expect(try await ImportFixtures.snapshot(client) == before)
        }
    }

    @Test func everyProblemIsCountedAndTheFirstFiftyListed() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let before = try await ImportFixtures.snapshot(client)
            // 40 rows with a bad amount (found while reading) and 40 with an unknown group (found
            // by SQL), interleaved: the list must come out in line order across both.
            var text = "code,name,group_code,phone,savings_balance\n"
            for index in 0..<40 {
                text += "X\(index)a,Tên A,G1,,-1\n"
                text += "X\(index)b,Tên B,G-NONE,,0\n"
            }
            let error = await #expect(throws: ImportError.self) {
                try await ImportFixtures.importText(.borrowers, text, client: client)
            }
            guard case .rejected(_, let problems, let total)? = error else {
                Issue.record("expected a rejection")
                return
            }
            #expect(total == 80)
            #expect(problems.count == 50)
            #expect(problems.map(\.line) == Array(2...51))
            #expect(error?.description.contains("… and 30 more") == true)
            #expect(try await ImportFixtures.snapshot(client) == before)
        }
    }

    @Test func importingTheSameFilesAgainChangesNothing() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let inspections = """
                inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code
                KT-1,TQ-YS,2026-05-04,G1,B1
                KT-1,TQ-YS,2026-05-04,G1,B2
                KT-2,TQ-YS-KP,2026-06-01,G2,B3
                """
            let reports = "report_code,unit_code,due_on,submitted_on\nBC-NAM,TQ-YS,2026-11-15,"
            try await ImportFixtures.importText(.inspections, inspections, client: client)
            try await ImportFixtures.importText(.reports, reports, client: client)
            let before = try await ImportFixtures.snapshot(client)

            let files: [(ImportKind, String, Int)] = [
                (.units, ImportFixtures.units, 4), (.points, ImportFixtures.points, 3), (.groups, ImportFixtures.groups, 2),
                (.borrowers, ImportFixtures.borrowers, 3), (.loans, ImportFixtures.loans, 2), (.inspections, inspections, 3),
                (.reports, reports, 1),
            ]
            for (kind, text, rows) in files {
                let again = try await ImportFixtures.importText(kind, text, client: client)
                #expect(again.rows == rows, "\(kind)")
                #expect(again.unchanged == rows && again.inserted == 0 && again.updated == 0, "\(kind): \(again)")
            }
            #expect(try await ImportFixtures.snapshot(client) == before)
        }
    }

    @Test func aChangedRowIsUpdatedInPlace() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let changed = ImportFixtures.borrowers.replacingOccurrences(of: "B2,Bùi Thị Hạnh,G1,0933333333,0", with: "B2,Bùi Thị Hạnh,G2,0933333333,500000")
                + "\nB4,Trương Văn Kiên,G2,,0"
            let summary = try await ImportFixtures.importText(.borrowers, changed, client: client)
            #expect((summary.inserted, summary.updated, summary.unchanged) == (1, 1, 2))
            let rows = try await client.query("SELECT g.code, b.savings_balance FROM borrowers b JOIN groups g ON g.id = b.group_id WHERE b.code = 'B2'", logger: ImportFixtures.logger)
            for try await (group, savings) in rows.decode((String, Int).self) {
                #expect(group == "G2")
                #expect(savings == 500_000)
            }
            let count = try await client.query("SELECT count(*) FROM borrowers", logger: ImportFixtures.logger)
            for try await total in count.decode(Int.self) { #expect(total == 4) }
        }
    }

    @Test func reimportingAnInspectionReplacesItsBorrowers() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let header = "inspection_code,inspector_unit_code,inspected_on,group_code,borrower_code\n"
            try await ImportFixtures.importText(.inspections, header + "KT-1,TQ-YS,2026-05-04,G1,B1\nKT-1,TQ-YS,2026-05-04,G1,B2", client: client)
            let summary = try await ImportFixtures.importText(.inspections, header + "KT-1,TQ-YS,2026-05-04,G1,B1", client: client)
            #expect((summary.inserted, summary.updated, summary.unchanged, summary.removed) == (0, 0, 1, 1))
            let rows = try await client.query("SELECT count(*) FROM inspected_borrowers", logger: ImportFixtures.logger)
            for try await total in rows.decode(Int.self) { #expect(total == 1) }
        }
    }

    @Test func vietnameseTextSurvivesByteForByte() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            // Precomposed (NFC) and decomposed (NFD) spellings of the same name must both come
            // back exactly as written; so must quotes, commas, a line break, a tab and a backslash.
            let names = [
                "Nguyễn Thị Phượng", "Đặng Hữu Thuận", "Hoa\u{300}ng Thi\u{323} Hu\u{31B}\u{300}ng",
                "Trần \"Út\" Ổi, thôn Đông", "Lê Văn Ất\nxóm Bãi", "Tab\there \\ back",
            ]
            var text = "code,name,group_code,phone,savings_balance\n"
            for (index, name) in names.enumerated() {
                text += "V\(index),\"\(name.replacingOccurrences(of: "\"", with: "\"\""))\",G1,,0\n"
            }
            let summary = try await ImportFixtures.importText(.borrowers, text, client: client)
            #expect(summary.inserted == names.count)
            for (index, name) in names.enumerated() {
                let rows = try await client.query("SELECT convert_to(name, 'UTF8') FROM borrowers WHERE code = \("V\(index)")", logger: ImportFixtures.logger)
                for try await stored in rows.decode(ByteBuffer.self) {
                    #expect(Array(stored.readableBytesView) == Array(name.utf8), "\(name)")
                }
            }
        }
    }
}

extension ImportTests {
    @Test func binaryGarbageIsAWrongHeaderAndWritesNothing() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let before = try await ImportFixtures.snapshot(client)
            var generator = SystemRandomNumberGenerator()
            let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            await #expect(throws: ImportError.self) {
                try await ImportFixtures.importBytes(.units, garbage, client: client)
            }
            #expect(try await ImportFixtures.snapshot(client) == before)
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// The children's table as downloads, read back by real readers and compared with the API.
@Suite struct DashboardExportTests {
    /// Python with openpyxl: `CREDITOPS_TEST_PYTHON`, or the virtual environment `.ci/run` makes.
    static var python: String {
        if let configured = ProcessInfo.processInfo.environment["CREDITOPS_TEST_PYTHON"] { return configured }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".venv-tests/bin/python").path
    }

    /// What the API says of D1's children: code → (required, done, status, overdue ratio).
    static func apiChildren(_ client: any TestClientProtocol, _ token: String) async throws -> [String: (Int, Int, String, Double?)] {
        try await client.execute(uri: "/api/v1/units/D1/coverage?year=2026", method: .get, headers: DashboardAPITests.bearer(token)) { response in
            let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
            var children: [String: (Int, Int, String, Double?)] = [:]
            for child in json?["children"] as? [[String: Any]] ?? [] {
                let coverage = child["coverage"] as? [String: Any]
                let loans = child["loans"] as? [String: Any]
                children[child["code"] as? String ?? ""] = (
                    coverage?["required"] as? Int ?? -1, coverage?["done"] as? Int ?? -1, coverage?["status"] as? String ?? "",
                    loans?["overdueRatio"] as? Double)
            }
            return children
        }
    }

    @Test func theChildrenCSVOpensWithDiacriticsAndCarriesTheAPIsFigures() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let expected = try await Self.apiChildren(client, fixture.district)
            #expect(expected.keys.sorted() == ["C1", "C2"])
            try await client.execute(uri: "/dashboard/D1/children.csv?year=2026", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                #expect(response.headers[.contentDisposition] == #"attachment; filename="D1-children-2026.csv""#)
                let bytes = Array(response.body.readableBytesView)
                #expect(bytes.prefix(3) == [0xEF, 0xBB, 0xBF], "a UTF-8 byte-order mark, for Excel")
                let lines = String(decoding: bytes.dropFirst(3), as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
                #expect(lines.first == "Mã đơn vị,Tên đơn vị,Số phải kiểm tra,Số đã đạt,Trạng thái,Tỷ lệ nợ quá hạn")
                #expect(lines.count == 3)
                for line in lines.dropFirst() {
                    let fields = line.components(separatedBy: ",")
                    let api = try #require(expected[fields[0]])
                    #expect(Int(fields[2]) == api.0 && Int(fields[3]) == api.1, "\(line)")
                    #expect(["Đạt", "Chưa đạt", "Không áp dụng"].contains(fields[4]))
                    if let ratio = api.3 { #expect(abs((Double(fields[5]) ?? -1) - ratio) < 0.00005, "\(line)") }
                }
                #expect(lines.contains { $0.hasPrefix("C1,Đoàn xã Một,") })
            }
        }
    }

    @Test func theChildrenWorkbookReadByOpenpyxlHasTheAPIsFiguresAsNumbers() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let expected = try await Self.apiChildren(client, fixture.district)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("children-\(UUID().uuidString).xlsx")
            defer { try? FileManager.default.removeItem(at: file) }
            try await client.execute(uri: "/dashboard/D1/children.xlsx?year=2026", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                try Data(response.body.readableBytesView).write(to: file)
            }
            // Each cell with its type as openpyxl reads it: numbers must come back as numbers.
            let script = """
                import json, sys, openpyxl
                sheet = openpyxl.load_workbook(sys.argv[1]).active
                rows = [[{"value": c.value, "type": type(c.value).__name__, "format": c.number_format} for c in row] for row in sheet.iter_rows()]
                print(json.dumps(rows, default=str))
                """
            let reader = try CreditOpsProcess.start(executable: Self.python, ["-c", script, file.path])
            defer { reader.removeOutput() }
            let finished = await reader.wait(timeout: .seconds(60))
            #expect(finished)
            guard finished else { reader.kill(signal: SIGKILL); return }
            #expect(reader.process.terminationStatus == 0, "\(Self.python) with openpyxl (made by .ci/run) must read the workbook: \(reader.stderr())")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(reader.stdout().utf8)) as? [[[String: Any]]])
            let title = rows.first?.first?["value"] as? String ?? ""
            #expect(title.hasPrefix("Các đơn vị trực thuộc — Huyện đoàn Một (D1) — năm 2026 — lúc "))
            let header = rows[2].compactMap { $0["value"] as? String }
            #expect(header == ["Mã đơn vị", "Tên đơn vị", "Số phải kiểm tra", "Số đã đạt", "Trạng thái", "Tỷ lệ nợ quá hạn"])
            let body = rows.dropFirst(3)
            #expect(body.count == 2)
            for row in body {
                let code = row[0]["value"] as? String ?? ""
                let api = try #require(expected[code])
                #expect(row[2]["type"] as? String == "int" || row[2]["type"] as? String == "float")
                #expect((row[2]["value"] as? NSNumber)?.intValue == api.0)
                #expect((row[3]["value"] as? NSNumber)?.intValue == api.1)
                if let ratio = api.3 {
                    #expect(abs(((row[5]["value"] as? NSNumber)?.doubleValue ?? -1) - ratio) < 1e-9)
                    #expect(row[5]["format"] as? String == "0.00%")
                }
            }
        }
    }
}

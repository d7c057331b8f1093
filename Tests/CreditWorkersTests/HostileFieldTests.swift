import CreditWorkers
import Foundation
import PostgresNIO
import TestSupport
import Testing

/// Issue #10's hostile values, fed to every column of every import kind. Each one is refused with
/// a problem on its line naming its column, and the database is unchanged — unless the value is
/// ordinary text for that column (SQL meta-characters in a name are a name), in which case it is
/// stored exactly as given.
@Suite struct HostileFieldTests {
    struct Hostile: Sendable {
        var name: String
        var bytes: [UInt8]
        var isCleanText: Bool { !["empty", "spaces only", "100,000 characters", "invalid UTF-8", "NUL byte"].contains(name) }
    }

    static let values: [Hostile] = [
        Hostile(name: "empty", bytes: []),
        Hostile(name: "spaces only", bytes: Array("   ".utf8)),
        Hostile(name: "100,000 characters", bytes: Array(repeating: UInt8(ascii: "x"), count: 100_000)),
        Hostile(name: "SQL meta-characters", bytes: Array("x'); DROP TABLE units; --".utf8)),
        Hostile(name: "invalid UTF-8", bytes: [0x41, 0xC3, 0x28, 0x42]),
        Hostile(name: "NUL byte", bytes: [0x41, 0x00, 0x42]),
        Hostile(name: "2026-02-30", bytes: Array("2026-02-30".utf8)),
        Hostile(name: "negative", bytes: Array("-1".utf8)),
        Hostile(name: "overflowing", bytes: Array("99999999999999999999999".utf8)),
    ]

    /// A row each kind accepts on top of ``ImportFixtures/importBase(client:loans:)``.
    static let validRows: [ImportKind: [String]] = [
        .units: ["TQ-YS-MOI", "Đoàn xã Mới", "commune", "TQ-YS", "Nguyễn Văn Mới", "0900000009"],
        .points: ["TB-9", "TQ-YS-TB", "10", "07:30", "Nhà văn hóa thôn 9"],
        .groups: ["G9", "Tổ TK&VV thôn 9", "TQ-YS-TB", "Hoàng Văn Mười", "0911111119", "TB-1"],
        .borrowers: ["B9", "Hộ vay mới", "G1", "0933333339", "1000"],
        .loans: ["L9", "B1", "Cho vay hộ nghèo", "1000000", "500000", "2025-01-01", "2027-01-01"],
        .inspections: ["KT-9", "TQ-YS", "2026-05-04", "G1", "B1"],
        .reports: ["BC-NAM", "TQ-YS", "2026-11-15", "2026-11-10"],
    ]

    /// The column holding the row's own code, which may be any text; other code columns name a
    /// record that must exist.
    static let ownCode: [ImportKind: String] = [
        .units: "code", .points: "code", .groups: "code", .borrowers: "code", .loans: "code", .inspections: "inspection_code",
    ]

    /// Whether `value` is a legitimate value of `column` (then it must be stored, not refused).
    static func acceptable(_ value: Hostile, kind: ImportKind, column: String, rule: ImportField) -> Bool {
        if value.name == "empty" {
            // An empty optional column is simply absent — but a commune needs its parent.
            return [.optionalCode, .optionalText, .optionalDate, .phone].contains(rule) && !(kind == .units && column == "parent_code")
        }
        // A blank phone is no phone (stored empty); any other hostile value is no mobile number.
        if rule == .phone { return value.name == "spaces only" }
        guard value.isCleanText || (value.name == "spaces only" && rule == .optionalText) else { return false }
        switch rule {
        case .code: return ownCode[kind] == column && value.name != "spaces only"
        case .requiredText, .optionalText: return true
        default: return false
        }
    }

    /// The rows of a ``ImportFixtures/snapshot(_:)``, each with its table's name.
    static func rows(_ snapshot: [String]) -> Set<String> {
        Set(snapshot.flatMap { table -> [String] in
            let name = table.prefix { $0 != ":" }
            return table.dropFirst(name.count + 2).split(separator: "|").map { "\(name) \($0)" }
        })
    }

    /// Whether a row, as PostgreSQL prints it (`(1,abc,"a b")`), has `text` as one whole field.
    static func holdsField(_ text: String, _ row: String) -> Bool {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\"\"")
        let forms: [String] = [text, "\"\(escaped)\""]
        return forms.contains { (field: String) -> Bool in
            row.contains("(\(field),") || row.contains(",\(field),") || row.contains(",\(field))")
        }
    }

    static func csvLine(_ fields: [[UInt8]]) -> [UInt8] {
        var line: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            line.append(UInt8(ascii: "\""))
            for byte in field {
                if byte == UInt8(ascii: "\"") { line.append(byte) }
                line.append(byte)
            }
            line.append(UInt8(ascii: "\""))
        }
        return line + [UInt8(ascii: "\n")]
    }

    @Test(arguments: ImportKind.allCases)
    func everyHostileValueInEveryColumn(_ kind: ImportKind) async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client)
            let header = Array((kind.columns.joined(separator: ",") + "\n").utf8)
            for (column, field) in kind.fields.enumerated() {
                for (valueIndex, value) in Self.values.enumerated() {
                    var row = Self.validRows[kind]!.map { Array($0.utf8) }
                    // Accepted rows get codes of their own, so that each is a new record.
                    if let own = Self.ownCode[kind], let ownIndex = kind.columns.firstIndex(of: own), ownIndex != column {
                        row[ownIndex] += Array("-\(column)-\(valueIndex)".utf8)
                    }
                    row[column] = value.bytes
                    let case_ = "\(kind) \(field.name) = \(value.name)"
                    let before = try await ImportFixtures.snapshot(client)
                    do {
                        let summary = try await ImportFixtures.importBytes(kind, header + Self.csvLine(row), client: client)
                        #expect(Self.acceptable(value, kind: kind, column: field.name, rule: field.rule), "\(case_) was accepted: \(summary)")
                        #expect(summary.rows == 1 && summary.inserted + summary.updated == 1, "\(case_): \(summary)")
                        // (Blank text is stored too; the planner treats a blank phone as none.)
                        if let text = String(validating: value.bytes, as: UTF8.self), !text.allSatisfy(\.isWhitespace) {
                            let written = Self.rows(try await ImportFixtures.snapshot(client)).subtracting(Self.rows(before))
                            #expect(written.contains { Self.holdsField(text, $0) }, "\(case_) is stored as given: \(written)")
                        }
                    } catch let error as ImportError {
                        #expect(!Self.acceptable(value, kind: kind, column: field.name, rule: field.rule), "\(case_) was refused: \(error)")
                        guard case .rejected(_, let problems, _) = error else {
                            Issue.record("\(case_): \(error)")
                            continue
                        }
                        #expect(problems.contains { $0.line == 2 && $0.column == field.name }, "\(case_): the problem names line 2 and the column: \(problems)")
                        #expect(error.description.count < 2_000, "\(case_): the message stays short: \(error.description.count) characters")
                        #expect(try await ImportFixtures.snapshot(client) == before, "\(case_) changed the database")
                    }
                }
            }
        }
    }
}

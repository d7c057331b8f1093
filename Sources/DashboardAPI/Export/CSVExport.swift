import CreditDomain
import Foundation

/// CSV as Excel opens it with diacritics intact: UTF-8 with a byte-order mark, CRLF line ends,
/// RFC 4180 quoting. The title is not written: a CSV is read by programs too, which want the
/// header first.
enum CSVExport {
    static func data(_ table: ExportTable) -> Data {
        var text = "\u{FEFF}"
        text += table.columns.map(field).joined(separator: ",") + "\r\n"
        for row in table.rows {
            text += row.map(cell).joined(separator: ",") + "\r\n"
        }
        return Data(text.utf8)
    }

    private static func cell(_ cell: ExportTable.Cell) -> String {
        switch cell {
        case .text(let text): field(text)
        case .integer(let value): String(value)
        case .percent(let fraction): String(format: "%.4f", fraction)
        case .date(let day): day.iso
        case .empty: ""
        }
    }

    /// A text field, quoted when it must be; one that a spreadsheet would run as a formula
    /// (`=`, `+`, `-`, `@` first) gets a leading apostrophe, as OWASP advises for CSV exports.
    private static func field(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { ",\"\r\n".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

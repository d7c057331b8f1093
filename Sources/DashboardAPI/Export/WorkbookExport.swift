import CreditDomain
import CXLSXWriter
import Foundation

/// An `.xlsx` workbook of one table, written by libxlsxwriter: a bold title row naming the unit
/// and the moment, a header row, then the rows with numbers as numbers, percentages as numbers in
/// a percent format and dates as dates.
enum WorkbookExport {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func data(_ table: ExportTable, sheetName: String) throws -> Data {
        // libxlsxwriter 1.1.4 (Debian 12) writes to a file only: a private temporary one.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-export-\(UUID().uuidString).xlsx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let workbook = workbook_new(path) else { throw Failure(description: "libxlsxwriter could not start a workbook") }
        let sheet = excelSheetName(sheetName).flatMap { workbook_add_worksheet(workbook, $0) } ?? workbook_add_worksheet(workbook, nil)
        let title = workbook_add_format(workbook), header = workbook_add_format(workbook)
        let percent = workbook_add_format(workbook), date = workbook_add_format(workbook)
        format_set_bold(title)
        format_set_font_size(title, 14)
        format_set_bold(header)
        format_set_bottom(header, UInt8(LXW_BORDER_THIN.rawValue))
        format_set_num_format(percent, "0.00%")
        format_set_num_format(date, "dd/mm/yyyy")

        worksheet_write_string(sheet, 0, 0, table.title, title)
        for (column, name) in table.columns.enumerated() {
            worksheet_write_string(sheet, 2, lxw_col_t(column), name, header)
            worksheet_set_column(sheet, lxw_col_t(column), lxw_col_t(column), column == 1 ? 32 : 16, nil)
        }
        for (index, row) in table.rows.enumerated() {
            let line = lxw_row_t(3 + index)
            for (column, cell) in row.enumerated() {
                let at = lxw_col_t(column)
                switch cell {
                case .text(let text): worksheet_write_string(sheet, line, at, text, nil)
                case .integer(let value): worksheet_write_number(sheet, line, at, Double(value), nil)
                case .percent(let fraction): worksheet_write_number(sheet, line, at, fraction, percent)
                case .date(let day):
                    var datetime = lxw_datetime(year: Int32(day.year), month: Int32(day.month), day: Int32(day.day), hour: 0, min: 0, sec: 0)
                    worksheet_write_datetime(sheet, line, at, &datetime, date)
                case .empty: break
                }
            }
        }
        let status = workbook_close(workbook)
        guard status == LXW_NO_ERROR else {
            throw Failure(description: "libxlsxwriter could not write the workbook: \(String(cString: lxw_strerror(status)))")
        }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Excel's rules for a sheet's name: at most 31 characters, none of `[]:*?/\`.
    private static func excelSheetName(_ name: String) -> String? {
        let cleaned = String(name.filter { !"[]:*?/\\".contains($0) }.prefix(31))
        return cleaned.isEmpty ? nil : cleaned
    }
}

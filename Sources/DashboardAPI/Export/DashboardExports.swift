import CreditDomain
import CreditWorkers
import Foundation
import Hummingbird

/// The dashboard's tables as downloads: `/dashboard/{code}/children.xlsx` and `children.csv`
/// (one row per unit directly below: code, name, required, done, status, overdue ratio).
enum DashboardExports {
    enum Format: String {
        case xlsx, csv
    }

    /// `children.xlsx` → (`children`, .xlsx), `reports.csv` → (`reports`, .csv); nil for a file
    /// the dashboard does not offer.
    static func parse(_ file: String) -> (table: String, format: Format)? {
        let parts = file.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "children" || ActionList(rawValue: parts[0]) != nil,
              let format = Format(rawValue: parts[1]) else { return nil }
        return (parts[0], format)
    }

    static func children(_ figures: UnitFigures, year: Int, texts: DashboardTexts, now: Date) -> ExportTable {
        let rows: [[ExportTable.Cell]] = figures.children.map { child in
            let coverage = child.coverage
            return [
                .text(child.code), .text(child.name),
                coverage.map { .integer($0.required) } ?? .empty, coverage.map { .integer($0.done) } ?? .empty,
                .text(texts.statuses[coverage?.status ?? ""] ?? ""),
                child.loans?.overdueRatio.map { .percent($0) } ?? .empty,
            ]
        }
        return ExportTable(
            title: texts.exportTitle(texts.childrenTitle, figures.name, figures.code, year, moment(now, texts)),
            columns: texts.childrenExportColumns, rows: rows, fileName: "\(figures.code)-children-\(year)")
    }

    static func response(_ table: ExportTable, format: Format) throws -> Response {
        let (body, type): (Data, String) = switch format {
        case .csv: (CSVExport.data(table), "text/csv; charset=utf-8")
        case .xlsx: (try WorkbookExport.data(table, sheetName: table.fileName), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        }
        return Response(
            status: .ok,
            headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(table.fileName).\(format.rawValue)\""],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func moment(_ now: Date, _ texts: DashboardTexts) -> String {
        let local = now.timeIntervalSince1970 + Double(CalendarDate.vietnamOffsetSeconds)
        let seconds = Int(local.truncatingRemainder(dividingBy: 86_400))
        return texts.time(seconds / 3600, seconds % 3600 / 60, CalendarDate(unixTime: now.timeIntervalSince1970))
    }
}

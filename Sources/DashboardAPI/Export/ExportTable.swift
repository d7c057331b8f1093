import CreditDomain
import Foundation

/// A table to download: a title (the unit and the moment), named columns, typed cells — so that a
/// workbook keeps numbers as numbers and dates as dates, and a CSV writes each plainly.
struct ExportTable: Sendable {
    enum Cell: Sendable, Equatable {
        case text(String)
        case integer(Int)
        /// A fraction, shown as a percentage (0.0123 → 1.23 %).
        case percent(Double)
        case date(CalendarDate)
        case empty
    }

    var title: String
    var columns: [String]
    var rows: [[Cell]]
    /// The file's name without its extension, e.g. `D1-children-2026`.
    var fileName: String
}

/// What an import changed. Re-importing the same file gives `unchanged == rows`.
public struct ImportSummary: Sendable, Equatable, Codable {
    public var kind: String
    public var rows: Int
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int
    /// Rows the file took away: borrowers no longer listed for an inspection the file names.
    public var removed: Int
    public var seconds: Double

    public var description: String {
        var text = "\(kind): \(rows) rows: \(inserted) inserted, \(updated) updated, \(unchanged) unchanged"
        if removed > 0 { text += ", \(removed) removed" }
        return text
    }
}

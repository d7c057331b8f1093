/// Why an import wrote nothing.
public enum ImportError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case wrongHeader(kind: ImportKind, found: [String])
    case empty(kind: ImportKind)
    /// Read a second time (after a direct load gave up), the file had fewer rows than before.
    case changedWhileRead(kind: ImportKind, before: Int, after: Int)
    /// Bad rows: the first ones (at most ``ImportError/shownProblems``) and how many there were.
    case rejected(kind: ImportKind, problems: [ImportProblem], total: Int)

    /// How many problems a rejection lists; the rest are counted.
    public static let shownProblems = 50

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .wrongHeader(let kind, let found):
            return "line 1: wrong header for \(kind.rawValue): expected \(kind.columns.joined(separator: ",")), found \(found.joined(separator: ",")); nothing was imported"
        case .empty(let kind):
            return "the file is empty: expected the header \(kind.columns.joined(separator: ",")); nothing was imported"
        case .changedWhileRead(let kind, let before, let after):
            return "\(kind.rawValue): the file changed while it was read (\(before) rows or more the first time, \(after) the second); nothing was imported"
        case .rejected(let kind, let problems, let total):
            var lines = ["\(kind.rawValue): \(total) \(total == 1 ? "problem" : "problems") found; nothing was imported"]
            lines += problems.map { "  \($0)" }
            if total > problems.count {
                lines.append("  … and \(total - problems.count) more")
            }
            return lines.joined(separator: "\n")
        }
    }
}

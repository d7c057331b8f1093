/// What is wrong with one row of an import file: where, and why, in words for the person who
/// will fix the file.
public struct ImportProblem: Sendable, Hashable, CustomStringConvertible {
    /// The line of the file the row starts on (1 is the header).
    public var line: Int
    /// The column at fault, by its header name; nil when the whole row is.
    public var column: String?
    public var reason: String

    public init(line: Int, column: String?, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        if let column { return "line \(line), \(column): \(reason)" }
        return "line \(line): \(reason)"
    }
}

import NIOCore

/// Checks each record's fields by their rules and writes the good values as rows of COPY's text
/// format (tab-separated, `\N` for NULL, backslash escapes). A bad field goes in as NULL, so
/// that the set-based checks still see the rest of its row and every problem of a file is
/// reported in one go.
struct Stager {
    static let flushSize = 1 << 18

    let kind: ImportKind
    private let rules: [(name: String, rule: ImportField)]
    private(set) var rows = 0
    private(set) var problems: [ImportProblem] = []
    private(set) var problemCount = 0

    init(kind: ImportKind) {
        self.kind = kind
        self.rules = kind.fields
    }

    private mutating func report(_ problem: ImportProblem) {
        problemCount += 1
        // Only the first ones are shown; the file streams in line order, so these are they.
        if problems.count < ImportError.shownProblems { problems.append(problem) }
    }

    mutating func stage(_ record: CSVRecord, into buffer: inout ByteBuffer) {
        rows += 1
        if let problem = record.problem {
            if problem.column < rules.count {
                report(ImportProblem(line: record.line, column: rules[problem.column].name, reason: problem.reason))
            } else if let malformed = record.malformed {
                report(malformed)
            }
            return
        }
        guard record.fields.count == rules.count else {
            report(ImportProblem(line: record.line, column: nil,
                                 reason: "expected \(rules.count) columns (\(kind.columns.joined(separator: ","))), found \(record.fields.count)"))
            return
        }
        buffer.writeString(String(record.line))
        for (index, field) in record.fields.enumerated() {
            buffer.writeInteger(UInt8(ascii: "\t"))
            switch rules[index].rule.check(field) {
            case .value(let value?):
                Self.writeEscaped(value, into: &buffer)
            case .value(nil):
                buffer.writeStaticString("\\N")
            case .problem(let reason):
                report(ImportProblem(line: record.line, column: rules[index].name, reason: reason))
                buffer.writeStaticString("\\N")
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    static func writeEscaped(_ value: String, into buffer: inout ByteBuffer) {
        // A scan of the contiguous bytes, cheaper than the UTF8View iterator (a hot spot of the seed).
        let needsEscaping = value.utf8.withContiguousStorageIfAvailable { $0.contains(where: needsEscape) }
            ?? value.utf8.contains(where: needsEscape)
        guard needsEscaping else {
            buffer.writeString(value)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }
}

/// One step of a schema's history: a numbered piece of SQL, applied once, never edited after.
public struct MigrationStep: Sendable, Hashable {
    /// The step's number, counting up from 1.
    public let version: Int
    /// The text after the number on the step's marker line.
    public let description: String
    /// The SQL of the step.
    public let sql: String

    /// Creates a step; ``parse(_:source:)`` makes them from a file.
    public init(version: Int, description: String, sql: String) {
        self.version = version
        self.description = description
        self.sql = sql
    }

    /// A stable checksum (FNV-1a, 64 bit) of the step's SQL: detects edits to applied steps.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static let marker = "-- migrate:step "

    /// Splits a schema file at its `-- migrate:step N description` lines; what comes before the
    /// first marker is the file's header.
    /// - Parameter source: the file's name, for errors.
    public static func parse(_ text: String, source: String) throws -> [MigrationStep] {
        var steps: [MigrationStep] = []
        var current: (version: Int, description: String, lines: [Substring])?
        func close() {
            if let current {
                let sql = current.lines.joined(separator: "\n").trimmingWhitespace()
                steps.append(MigrationStep(version: current.version, description: current.description, sql: sql))
            }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(marker) {
                let parts = line.dropFirst(marker.count).split(separator: " ", maxSplits: 1)
                guard let number = parts.first.flatMap({ Int($0) }) else {
                    throw MigrationError("\(source): a step marker needs a number: \(line)")
                }
                guard number == steps.count + (current == nil ? 1 : 2) else {
                    throw MigrationError("\(source): step \(number) is out of order")
                }
                close()
                current = (number, parts.count > 1 ? String(parts[1]) : "", [])
            } else if current != nil {
                current!.lines.append(line)
            }
        }
        close()
        return steps
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

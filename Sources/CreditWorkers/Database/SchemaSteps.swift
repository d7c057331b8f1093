import Foundation

/// The ordered steps of `schema.sql`, embedded in the binary at build time so that `migrate`
/// needs no source tree.
public struct SchemaStep: Sendable, Hashable {
    /// The step's number, counting up from 1.
    public let version: Int
    /// The text after the number on the step's marker line.
    public let description: String
    /// The SQL of the step.
    public let sql: String

    /// A stable checksum (FNV-1a, 64 bit) of the step's SQL: detects edits to applied steps.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// Parses and serves the schema's steps.
public enum Schema {
    /// Every step of the embedded `schema.sql`, in order.
    public static let steps: [SchemaStep] = {
        do {
            return try parse(String(decoding: PackageResources.schema_sql, as: UTF8.self))
        } catch {
            preconditionFailure("the embedded schema.sql is malformed: \(error)")
        }
    }()

    /// The version a fully migrated database has.
    public static var latestVersion: Int { steps.last?.version ?? 0 }

    static let marker = "-- migrate:step "

    /// Splits a schema file at its `-- migrate:step N description` lines.
    public static func parse(_ text: String) throws -> [SchemaStep] {
        var steps: [SchemaStep] = []
        var current: (version: Int, description: String, lines: [Substring])?
        func close() {
            if let current {
                let sql = current.lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                steps.append(SchemaStep(version: current.version, description: current.description, sql: sql))
            }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(marker) {
                let rest = line.dropFirst(marker.count)
                let parts = rest.split(separator: " ", maxSplits: 1)
                guard let number = parts.first.flatMap({ Int($0) }) else {
                    throw MigrationError("schema.sql: a step marker needs a number: \(line)")
                }
                guard number == steps.count + (current == nil ? 1 : 2) else {
                    throw MigrationError("schema.sql: step \(number) is out of order")
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

import Foundation

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A plain left-aligned table, as `kubectl get` prints.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in
        ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
    print(line(header))
    rows.forEach { print(line($0)) }
    if rows.isEmpty { print("(none)") }
}

enum Display {
    static func time(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
    }

    static func clip(_ text: String, _ length: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= length ? flat : String(flat.prefix(length - 1)) + "…"
    }
}

extension Display {
    static func seconds(_ seconds: Double) -> String {
        seconds < 10 ? String(format: "%.2f s", seconds) : String(format: "%.1f s", seconds)
    }
}

/// A value from the command line as an error message quotes it: whole when short, its start and
/// its length when someone passed a megabyte.
func shown(_ value: String) -> String {
    value.count <= 60 ? value : String(value.prefix(40)) + "…(\(value.count) characters)"
}

/// An error message with every line of over 500 characters cut short.
func clippingLongLines(_ message: String) -> String {
    message.split(separator: "\n", omittingEmptySubsequences: false).map { (line: Substring) -> String in
        line.count <= 500 ? String(line) : line.prefix(480) + "…(\(line.count) characters)"
    }.joined(separator: "\n")
}

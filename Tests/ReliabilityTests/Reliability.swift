import Foundation
import Testing
import TestSupport

/// The fault suite (issue #10): real `creditops worker` processes, a real PostgreSQL and a real
/// webhook sink, with workers killed, the database stopped, the gateway taken away and handlers
/// misbehaving. Its suites run one after another so that each one's recovery times are its own.
///
/// CI runs it at a size that takes a few minutes; `CREDITOPS_RELIABILITY=full swift test --filter
/// ReliabilityTests` runs the sizes (50,000 deliveries under kills) and
/// `CREDITOPS_RELIABILITY_REPORT=FILE` collects the figures that RELIABILITY.md quotes.
@Suite(.serialized) struct ReliabilityTests {}

/// How big a run is.
struct ReliabilityScale: Sendable {
    var name: String
    /// Deliveries while workers are killed and restarted.
    var killDeliveries: Int
    /// Deliveries while PostgreSQL is stopped for ten seconds.
    var outageDeliveries: Int
    /// Deliveries while the gateway is down, then failing.
    var gatewayDeliveries: Int
    /// The longest the kill test may take.
    var killTimeLimit: Duration

    static let current: ReliabilityScale = ProcessInfo.processInfo.environment["CREDITOPS_RELIABILITY"] == "full"
        ? ReliabilityScale(name: "full", killDeliveries: 50_000, outageDeliveries: 20_000, gatewayDeliveries: 5_000,
                           killTimeLimit: .seconds(1200))
        : ReliabilityScale(name: "ci", killDeliveries: 4_000, outageDeliveries: 2_000, gatewayDeliveries: 500,
                           killTimeLimit: .seconds(240))
}

/// Prints a test's figures and, when `CREDITOPS_RELIABILITY_REPORT` names a file, appends them
/// there as a Markdown table row block.
enum ReliabilityReport {
    static func record(_ title: String, _ figures: [(String, String)]) {
        let line = figures.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
        print("reliability [\(ReliabilityScale.current.name)] \(title) — \(line)")
        guard let path = ProcessInfo.processInfo.environment["CREDITOPS_RELIABILITY_REPORT"], !path.isEmpty else { return }
        var text = "\n### \(title) (\(ReliabilityScale.current.name) size, \(ISO8601DateFormatter().string(from: Date())))\n\n"
        text += "| figure | value |\n|---|---|\n" + figures.map { "| \($0.0) | \($0.1) |\n" }.joined()
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
            handle.closeFile()
        }
    }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// "12.3 s" / "450 ms", for the report.
    var shown: String {
        let seconds = inSeconds
        return seconds >= 1 ? String(format: "%.1f s", seconds) : String(format: "%.0f ms", seconds * 1000)
    }
}

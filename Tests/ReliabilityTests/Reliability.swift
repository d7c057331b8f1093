import EmbeddedPostgres
import Foundation
import PostgresNIO
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

/// Runs `body` with a PostgreSQL of the test's own (the other tests' server must stay up) and a
/// second handle on the same folder and port, which starts it again after the test stopped or
/// killed it: what a restarted server looks like to its clients. Both are stopped and the folder
/// removed afterwards, here rather than in a defer: a defer cannot wait for the stop, and the
/// folder must not go while the server still runs.
func withOwnServer(
    durability: EmbeddedPostgres.Configuration.Durability,
    _ body: (_ server: EmbeddedPostgres, _ restarted: EmbeddedPostgres, _ url: String) async throws -> Void
) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-own-\(UUID().uuidString)").path
    let configuration = EmbeddedPostgres.Configuration(dataDirectory: folder, durability: durability, removeWhenProcessExits: true)
    let server = EmbeddedPostgres(configuration: configuration, logger: silentLogger)
    let endpoint = try await server.start()
    var again = configuration
    again.port = endpoint.port
    let restarted = EmbeddedPostgres(configuration: again, logger: silentLogger)
    var failure: (any Error)?
    do {
        try await body(server, restarted, endpoint.url + "?sslmode=disable")
    } catch {
        failure = error
    }
    try? await restarted.stop()
    try? await server.stop()
    try? FileManager.default.removeItem(atPath: folder)
    if let failure { throw failure }
}

/// Plans `count` overdue reminders on `url`'s (migrated) database and runs `body` while two
/// `creditops worker`s deliver them to a sink that takes 20 ms a request: concurrency
/// `concurrency`, lease 5 s, and a webhook time-out of 5 s, so that attempts stuck on a connection
/// a fault killed are cancelled after 5 + 20 s. `outbox` is the number of notifications planned.
func withOverdueDelivery(
    url: String, count: Int, concurrency: Int, client: PostgresClient,
    _ body: @Sendable (_ outbox: Int, _ sink: WebhookSink, _ workers: DeliveryWorkers) async throws -> Void
) async throws {
    let environment = ["DATABASE_URL": url]
    try await OverdueLoans.prepare(count: count, client: client, environment: environment)
    let planned = try await CreditOpsProcess.run(["plan", "overdue"], environment: environment, timeout: .seconds(300))
    #expect(planned.status == 0, "\(planned.stderr)")
    let outbox = try await client.integer("SELECT count(*) FROM notifications")
    let sink = WebhookSink { _, _ in .init(status: 200, delay: .milliseconds(20)) }
    try await sink.run { webhook in
        let workers = try DeliveryWorkers(count: 2, concurrency: concurrency, leaseSeconds: 5, databaseURL: url, webhookURL: webhook,
                                          extraEnvironment: ["CREDITOPS_WEBHOOK_TIMEOUT_SECONDS": "5", "CREDITOPS_WEBHOOK_RETRY_SECONDS": "1"])
        defer { workers.cleanUp() }
        try await body(outbox, sink, workers)
    }
}

import CreditWorkers
import Foundation
import Logging
import PostgresNIO

extension QueueBenchmark {
    /// Medians and every repetition's value, with the server's durability settings.
    struct Report: Encodable {
        struct Figure: Encodable {
            var median: Double
            var values: [Double]
        }

        var jobs: Int
        var concurrency: Int
        var postgres: String
        var durability: [String: String]
        var machine: String
        var bulkEnqueueJobsPerSecond: Figure
        var singleEnqueueJobsPerSecond: Figure
        var processJobsPerSecond: Figure
        var latencyP50Milliseconds: Figure
        var latencyP95Milliseconds: Figure
        var latencyP99Milliseconds: Figure
        var enqueueCallP50Milliseconds: Figure
        var maxRSSMegabytes: Figure

        init(runs: [Run], jobs: Int, concurrency: Int, benchURL: String, logger: Logger) async throws {
            func figure(_ value: (Run) -> Double) -> Figure {
                let values = runs.map(value)
                return Figure(median: values.sorted()[values.count / 2], values: values)
            }
            self.jobs = jobs
            self.concurrency = concurrency
            bulkEnqueueJobsPerSecond = figure(\.bulkEnqueueJobsPerSecond)
            singleEnqueueJobsPerSecond = figure(\.singleEnqueueJobsPerSecond)
            processJobsPerSecond = figure(\.processJobsPerSecond)
            latencyP50Milliseconds = figure(\.latencyP50Milliseconds)
            latencyP95Milliseconds = figure(\.latencyP95Milliseconds)
            latencyP99Milliseconds = figure(\.latencyP99Milliseconds)
            enqueueCallP50Milliseconds = figure(\.enqueueCallP50Milliseconds)
            maxRSSMegabytes = figure(\.maxRSSMegabytes)
            machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
            (postgres, durability) = try await withDatabase(try DatabaseURL.configuration(benchURL), logger: logger) { client in
                var version = ""
                for try await text in try await client.query("SELECT version()", logger: logger).decode(String.self) { version = text }
                var settings: [String: String] = [:]
                let rows = try await client.query(
                    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers')",
                    logger: logger)
                for try await (name, setting) in rows.decode((String, String).self) { settings[name] = setting }
                return (version, settings)
            }
        }

        func printText() {
            func line(_ label: String, _ figure: Figure, _ unit: String) {
                let values = figure.values.map { String(format: "%.1f", $0) }.joined(separator: ", ")
                print("\(label.padding(toLength: 34, withPad: " ", startingAt: 0)) \(String(format: "%10.1f", figure.median)) \(unit)   [\(values)]")
            }
            print("PostgreSQL: \(postgres)")
            print("durability: \(durability.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            print("machine: \(machine); jobs \(jobs), concurrency \(concurrency); medians [every rep]")
            line("bulk enqueue", bulkEnqueueJobsPerSecond, "jobs/s")
            line("single enqueue", singleEnqueueJobsPerSecond, "jobs/s")
            line("process noop (c=\(concurrency))", processJobsPerSecond, "jobs/s")
            line("enqueue-to-start p50 (100/s)", latencyP50Milliseconds, "ms")
            line("enqueue-to-start p95", latencyP95Milliseconds, "ms")
            line("enqueue-to-start p99", latencyP99Milliseconds, "ms")
            line("enqueue call p50", enqueueCallP50Milliseconds, "ms")
            line("process max RSS", maxRSSMegabytes, "MB")
        }
    }
}

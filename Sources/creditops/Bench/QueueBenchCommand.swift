import ArgumentParser
import CreditWorkers
import Foundation
import JobQueue
import Logging
import PostgresNIO

struct QueueBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Enqueue and processing throughput and enqueue-to-start latency of the job queue.",
        discussion: """
            Runs the peer benchmark's workload (../shared/peers/README.md) on a database `creditops_bench`
            that it creates (dropping any old one) on the server of DATABASE_URL, or, without one, on a
            private PostgreSQL with default durability (fsync and synchronous commit on) in a temporary folder:
              1. bulk enqueue: --jobs noop jobs in calls of 1,000;
              2. single enqueue: 2,000 jobs from one connection, one call and commit each;
              3. process: --jobs noop jobs enqueued first, then timed from the worker's start until the
                 database shows them all completed, at --concurrency;
              4. latency: an idle worker (concurrency 10), 500 jobs enqueued one at a time at 100/s, each
                 carrying its enqueue time; the handler records now minus that time.
            The worker runs in this process on its own connection pool.

            Example (build with -c release first):
              .build/release/creditops bench queue --jobs 20000 --concurrency 50 --reps 3 --json
            """
    )

    @Option(help: "Jobs for the bulk enqueue and process phases.") var jobs: Int = 20_000
    @Option(help: "Worker concurrency for the process phase.") var concurrency: Int = 50
    @Option(help: "Repetitions; the report gives the median and every value.") var reps: Int = 1
    @Option(name: .customLong("latency-jobs"), help: "Jobs in the latency phase.") var latencyJobs: Int = 500
    @Option(name: .customLong("single-jobs"), help: "Jobs in the single-enqueue phase.") var singleJobs: Int = 2_000
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1_000...10_000_000).contains(jobs) else { throw ValidationError("--jobs must be within 1000...10000000") }
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be within 1...10000") }
        guard (1...20).contains(reps) else { throw ValidationError("--reps must be within 1...20") }
        guard (10...100_000).contains(latencyJobs) else { throw ValidationError("--latency-jobs must be within 10...100000") }
        guard (10...100_000).contains(singleJobs) else { throw ValidationError("--single-jobs must be within 10...100000") }
    }

    func run() async throws {
        try await reportingErrors {
            var logger = logging.logger()
            logger.logLevel = max(logger.logLevel, .warning)
            try await BenchDatabase.with(database, logger: logger) { benchURL in
                let benchmark = QueueBenchmark(
                    configuration: try DatabaseURL.configuration(benchURL), jobs: jobs, concurrency: concurrency,
                    singleJobs: singleJobs, latencyJobs: latencyJobs, logger: logger)
                var runs: [QueueBenchmark.Run] = []
                for rep in 1...reps {
                    if !json { printError("rep \(rep)/\(reps)…") }
                    runs.append(try await benchmark.runOnce())
                }
                let report = try await QueueBenchmark.Report(runs: runs, jobs: jobs, concurrency: concurrency, benchURL: benchURL, logger: logger)
                if json { try printJSON(report) } else { report.printText() }
            }
        }
    }
}

import ArgumentParser
import CreditWorkers
import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle

/// How large the jobs table stays under steady load with pruning on: the figure that a timed test
/// once asserted, and that depends on how fast the machine runs the worker.
struct PruningBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pruning",
        abstract: "Steady enqueue load with a worker and the leader's pruner; samples the jobs table every second.",
        discussion: """
            On a database `creditops_bench` of its own (see `bench queue` for the server), one process runs
            a worker (concurrency 10) and a leader whose pruner deletes completed jobs --retention seconds
            after they finish, every --interval seconds, while --rate noop jobs a second are enqueued (a
            tenth every 100 ms) for --seconds. Each second it counts the rows waiting or running and the
            rows finished, and the age of the oldest finished row: pruning keeps that age near retention
            plus interval; waiting rows measure the worker, not the pruner.

            Example (build with -c release first):
              .build/release/creditops bench pruning --seconds 120 --rate 100 --retention 5
            """
    )

    @Option(help: "How long the load lasts.") var seconds = 120
    @Option(help: "Jobs enqueued a second.") var rate = 100
    @Option(help: "Seconds a completed job is kept.") var retention = 5
    @Option(help: "Seconds between pruning rounds.") var interval = 1
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (5...86_400).contains(seconds) else { throw ValidationError("--seconds must be within 5...86400") }
        guard (10...100_000).contains(rate), rate % 10 == 0 else { throw ValidationError("--rate must be a multiple of 10 within 10...100000") }
        guard (1...86_400).contains(retention) else { throw ValidationError("--retention must be within 1...86400") }
        guard (1...3_600).contains(interval) else { throw ValidationError("--interval must be within 1...3600") }
    }

    struct Sample: Codable {
        var second: Int
        var waiting: Int
        var finished: Int
        var oldestFinishedSeconds: Double
    }

    struct Report: Codable {
        var seconds: Int
        var rate: Int
        var retentionSeconds: Int
        var intervalSeconds: Int
        var enqueued: Int
        var maxRows: Int
        var lastRows: Int
        var maxWaiting: Int
        var maxFinished: Int
        var maxOldestFinishedSeconds: Double
        var samples: [Sample]
    }

    func run() async throws {
        try await reportingErrors {
            var logger = logging.logger()
            logger.logLevel = max(logger.logLevel, .warning)
            try await BenchDatabase.with(database, logger: logger) { benchURL in
                let report = try await measure(try DatabaseURL.configuration(benchURL), logger: logger)
                if json { try printJSON(report) } else { printText(report) }
            }
        }
    }

    private func measure(_ configuration: PostgresClient.Configuration, logger: Logger) async throws -> Report {
        try await withDatabase(configuration, logger: logger) { client in
            let registry = JobRegistry()
            let queue = JobQueue(client: client, registry: registry, logger: logger)
            let pruner = JobPruner(
                client: client, configuration: .init(completedRetention: .seconds(retention), interval: .seconds(interval)), logger: logger)
            let election = LeaderElection(
                client: client, candidateID: "bench-pruning", duties: [pruner.duty],
                configuration: .init(ttl: .seconds(3), retryInterval: .milliseconds(200)), logger: logger)
            let worker = WorkerService(client: client, registry: registry, configuration: .init(queues: ["default": 10]), logger: logger)
            let group = ServiceGroup(configuration: .init(services: [election, worker], gracefulShutdownSignals: [], logger: logger))
            let samples = try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var samples: [Sample] = []
                let started = ContinuousClock.now
                let perTick = rate / 10
                for tick in 0..<(seconds * 10) {
                    try await Task.sleep(until: started + .milliseconds(100 * tick), clock: .continuous)
                    try await queue.enqueue(batch: (0..<perTick).map { _ in NewJob(kind: "noop") })
                    if tick % 10 == 9 { samples.append(try await sample(second: tick / 10 + 1, client, logger: logger)) }
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return samples
            }
            let rows = samples.map { $0.waiting + $0.finished }
            return Report(
                seconds: seconds, rate: rate, retentionSeconds: retention, intervalSeconds: interval, enqueued: seconds * rate,
                maxRows: rows.max() ?? 0, lastRows: rows.last ?? 0, maxWaiting: samples.map(\.waiting).max() ?? 0,
                maxFinished: samples.map(\.finished).max() ?? 0,
                maxOldestFinishedSeconds: samples.map(\.oldestFinishedSeconds).max() ?? 0, samples: samples)
        }
    }

    private func sample(second: Int, _ client: PostgresClient, logger: Logger) async throws -> Sample {
        let rows = try await client.query("""
            SELECT count(*) FILTER (WHERE finalized_at IS NULL)::int8, count(*) FILTER (WHERE finalized_at IS NOT NULL)::int8,
                   coalesce(extract(epoch FROM now() - min(finalized_at)), 0)::float8
            FROM jobs
            """, logger: logger)
        for try await (waiting, finished, oldest) in rows.decode((Int64, Int64, Double).self) {
            return Sample(second: second, waiting: Int(waiting), finished: Int(finished), oldestFinishedSeconds: oldest)
        }
        throw CLIError("no answer while sampling the jobs table")
    }

    private func printText(_ report: Report) {
        print("""
            jobs table under \(report.rate) jobs/s for \(report.seconds) s, retention \(report.retentionSeconds) s, pruning every \(report.intervalSeconds) s:
              rows: max \(report.maxRows), last \(report.lastRows) (of \(report.enqueued) enqueued)
              waiting or running: max \(report.maxWaiting)
              finished: max \(report.maxFinished); oldest finished row: max \(String(format: "%.1f", report.maxOldestFinishedSeconds)) s
            """)
    }
}

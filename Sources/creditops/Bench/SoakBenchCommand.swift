import ArgumentParser
import CreditWorkers
import Foundation
import JobQueue
import Logging
import PostgresNIO

/// Whether the queue stays steady over millions of jobs: throughput, the jobs table's size and
/// the workers' memory, sampled while worker processes work a sustained enqueue load.
struct SoakBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Millions of jobs at a sustained rate through several worker processes; samples throughput, table size and RSS.",
        discussion: """
            On a database `creditops_bench` of its own (see `bench queue` for the server), starts --workers
            worker processes (`creditops bench soak-worker`: a worker at --concurrency on the queue `soak`,
            and the leader duties: rescue, promotion of scheduled and retryable jobs, pruning with
            --retention), then enqueues --jobs jobs at --rate a second (a tenth every 100 ms, bulk). Per
            hundred jobs: 70 no-ops, 20 that sleep 10 ms, 5 that fail once and are retried 5 s later, 5
            scheduled 5 s ahead. Every --sample-seconds it records the jobs completed since the last
            sample, the rows waiting, the jobs table's and its indexes' size, dead rows, autovacuum runs,
            and every worker's resident memory; after the last enqueue it keeps sampling until every job
            completed (giving up --drain-seconds after the first sample that saw the last enqueue). Writes samples.csv and report.json to --out; plot them with
            scripts/plot-soak.sh.

            Example (build with -c release first; about 25 minutes on 2 cores):
              .build/release/creditops bench soak --jobs 5000000 --rate 4000 --workers 4 --out /tmp/soak
            """
    )

    @Option(help: "Jobs to enqueue in all.") var jobs = 5_000_000
    @Option(help: "Jobs enqueued a second.") var rate = 4_000
    @Option(help: "Worker processes.") var workers = 4
    @Option(help: "Jobs each worker process runs at once.") var concurrency = 50
    @Option(help: "Seconds a completed job is kept before pruning.") var retention = 60
    @Option(name: .customLong("sample-seconds"), help: "Seconds between samples.") var sampleSeconds = 60
    @Option(name: .customLong("drain-seconds"), help: "The longest to wait for the last jobs after the last enqueue.") var drainSeconds = 600
    @Option(help: "Folder for samples.csv, report.json and the workers' logs.") var out: String
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1_000...100_000_000).contains(jobs) else { throw ValidationError("--jobs must be within 1000...100000000") }
        guard (10...100_000).contains(rate), rate % 10 == 0 else { throw ValidationError("--rate must be a multiple of 10 within 10...100000") }
        guard (1...32).contains(workers) else { throw ValidationError("--workers must be within 1...32") }
        guard (1...1_000).contains(concurrency) else { throw ValidationError("--concurrency must be within 1...1000") }
        guard (1...86_400).contains(retention) else { throw ValidationError("--retention must be within 1...86400") }
        guard (1...3_600).contains(sampleSeconds) else { throw ValidationError("--sample-seconds must be within 1...3600") }
        guard (10...86_400).contains(drainSeconds) else { throw ValidationError("--drain-seconds must be within 10...86400") }
    }

    func run() async throws {
        try await reportingErrors {
            var logger = logging.logger()
            logger.logLevel = max(logger.logLevel, .warning)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try await BenchDatabase.with(database, logger: logger) { benchURL in
                var workerProcesses: [SoakWorkerProcess] = []
                defer { SoakWorkerProcess.stop(workerProcesses) }
                for number in 1...workers { workerProcesses.append(try startWorker(number, databaseURL: benchURL)) }
                let soak = Soak(
                    jobs: jobs, rate: rate, sampleInterval: .seconds(sampleSeconds), drainTimeout: .seconds(drainSeconds),
                    workers: workerProcesses, logger: logger)
                let report = try await withDatabase(try DatabaseURL.configuration(benchURL), logger: logger) { client in
                    try await soak.run(client: client, settings: self)
                }
                try report.samplesCSV.write(toFile: "\(out)/samples.csv", atomically: true, encoding: .utf8)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(report).write(to: URL(fileURLWithPath: "\(out)/report.json"))
                if json { try printJSON(report) } else { report.printText() }
                guard report.allCompleted else {
                    throw CLIError("only \(report.completed) of \(jobs) jobs completed within --drain-seconds \(drainSeconds)")
                }
            }
        }
    }

    private func startWorker(_ number: Int, databaseURL: String) throws -> SoakWorkerProcess {
        try SoakWorkerProcess.start(
            arguments: ["bench", "soak-worker", "--concurrency", "\(concurrency)", "--retention", "\(retention)"],
            databaseURL: databaseURL, log: "\(out)/worker-\(number).log")
    }
}

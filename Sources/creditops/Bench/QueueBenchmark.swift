import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The four measurements of `creditops bench queue`, one repetition at a time.
struct QueueBenchmark {
    struct Run: Codable {
        var bulkEnqueueJobsPerSecond: Double
        var singleEnqueueJobsPerSecond: Double
        var processJobsPerSecond: Double
        var latencyP50Milliseconds: Double
        var latencyP95Milliseconds: Double
        var latencyP99Milliseconds: Double
        var enqueueCallP50Milliseconds: Double
        var maxRSSMegabytes: Double
    }

    let configuration: PostgresClient.Configuration
    let jobs: Int
    let concurrency: Int
    let singleJobs: Int
    let latencyJobs: Int
    let logger: Logger

    func runOnce() async throws -> Run {
        try await withDatabase(configuration, logger: logger) { driver in
            let queue = JobQueue(client: driver, registry: JobRegistry(), logger: logger)
            let bulk = try await bulkEnqueue(queue, driver)
            let single = try await singleEnqueue(queue, driver)
            let process = try await processThroughput(queue, driver)
            let latency = try await enqueueToStartLatency(queue, driver)
            return Run(
                bulkEnqueueJobsPerSecond: bulk, singleEnqueueJobsPerSecond: single, processJobsPerSecond: process,
                latencyP50Milliseconds: latency.p50, latencyP95Milliseconds: latency.p95, latencyP99Milliseconds: latency.p99,
                enqueueCallP50Milliseconds: latency.enqueueP50, maxRSSMegabytes: Self.maxRSSMegabytes())
        }
    }

    private func reset(_ client: PostgresClient) async throws {
        try await client.query("TRUNCATE jobs", logger: logger)
        try await client.query("VACUUM ANALYZE jobs", logger: logger)
    }

    private func bulkEnqueue(_ queue: JobQueue, _ client: PostgresClient) async throws -> Double {
        try await reset(client)
        let started = ContinuousClock.now
        for start in stride(from: 0, to: jobs, by: 1_000) {
            try await queue.enqueue(batch: (start..<min(start + 1_000, jobs)).map { _ in NewJob(kind: "noop") })
        }
        return Double(jobs) / (ContinuousClock.now - started).seconds
    }

    /// One connection, one call and one commit per job, as the peers' harness does it.
    private func singleEnqueue(_ queue: JobQueue, _ client: PostgresClient) async throws -> Double {
        try await reset(client)
        return try await client.withConnection { connection in
            let started = ContinuousClock.now
            for _ in 0..<singleJobs {
                try await queue.enqueue(NewJob(kind: "noop"), on: connection)
            }
            return Double(singleJobs) / (ContinuousClock.now - started).seconds
        }
    }

    private func processThroughput(_ queue: JobQueue, _ client: PostgresClient) async throws -> Double {
        try await reset(client)
        for start in stride(from: 0, to: jobs, by: 5_000) {
            try await queue.enqueue(batch: (start..<min(start + 5_000, jobs)).map { _ in NewJob(kind: "noop") })
        }
        let handled = Atomic<Int>(0)
        let registry = JobRegistry()
        registry.register(JobDefinition<NoArguments>(kind: "noop") { _, _ in handled.add(1, ordering: .relaxed) })
        return try await withWorker(registry: registry, concurrency: concurrency) {
            let started = ContinuousClock.now
            // Like the peers' harness: wait for the handler to see the last job, then for the
            // database to show every job completed.
            let deadline = started + .seconds(600)
            while handled.load(ordering: .relaxed) < jobs, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            while try await completedCount(client) < jobs, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            return Double(jobs) / (ContinuousClock.now - started).seconds
        }
    }

    private func enqueueToStartLatency(
        _ queue: JobQueue, _ client: PostgresClient
    ) async throws -> (p50: Double, p95: Double, p99: Double, enqueueP50: Double) {
        try await reset(client)
        struct Probe: Codable, Sendable { var sentAt: Double }
        let latencies = Mutex<[Double]>([])
        let registry = JobRegistry()
        registry.register(JobDefinition<Probe>(kind: "probe") { probe, _ in
            let latency = Date().timeIntervalSince1970 - probe.sentAt
            latencies.withLock { $0.append(latency * 1000) }
        })
        let calls = try await withWorker(registry: registry, concurrency: 10) {
            var calls: [Double] = []
            try await Task.sleep(for: .seconds(2))  // the worker sits idle, as in the peers' run
            let started = ContinuousClock.now
            for index in 0..<latencyJobs {
                let due = started + .milliseconds(10 * index)
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                let callStarted = ContinuousClock.now
                let argsJSON = #"{"sentAt": \#(Date().timeIntervalSince1970)}"#
                try await queue.enqueue(NewJob(kind: "probe", argsJSON: argsJSON))
                calls.append((ContinuousClock.now - callStarted).seconds * 1000)
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while latencies.withLock({ $0.count }) < latencyJobs, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            return calls
        }
        let sorted = latencies.withLock { $0 }.sorted()
        return (percentile(sorted, 0.50), percentile(sorted, 0.95), percentile(sorted, 0.99), percentile(calls.sorted(), 0.50))
    }

    /// Runs a worker on its own pool (as a separate process would have) while `body` runs.
    private func withWorker<T: Sendable>(
        registry: JobRegistry, concurrency: Int, _ body: @Sendable () async throws -> T
    ) async throws -> T {
        try await withDatabase(configuration, logger: logger) { client in
            let worker = WorkerService(
                client: client, registry: registry, configuration: .init(queues: ["default": concurrency]), logger: logger)
            let group = ServiceGroup(configuration: .init(services: [worker], gracefulShutdownSignals: [], logger: logger))
            return try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let result = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            }
        }
    }

    private func completedCount(_ client: PostgresClient) async throws -> Int {
        let rows = try await client.query("SELECT count(*)::int8 FROM jobs WHERE state = 'completed'", logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    static func maxRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    }
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, max(0, Int((Double(sorted.count) * fraction).rounded(.up)) - 1))
    return sorted[index]
}

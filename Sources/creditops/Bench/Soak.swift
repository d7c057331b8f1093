import Foundation
import JobQueue
import Logging
import PostgresNIO
import Synchronization

/// One soak run: the enqueue load and the sampler, side by side, against worker processes that
/// run elsewhere.
struct Soak {
    let jobs: Int
    let rate: Int
    let sampleInterval: Duration
    let drainTimeout: Duration
    let workers: [SoakWorkerProcess]
    let logger: Logger

    func run(client: PostgresClient, settings: SoakBenchCommand) async throws -> SoakReport {
        let queue = JobQueue(client: client, registry: SoakJobs.registry(), logger: logger)
        let enqueued = EnqueuedCount()
        let started = ContinuousClock.now
        let samples = try await withThrowingTaskGroup(of: [SoakSample].self) { tasks in
            tasks.addTask {
                try await enqueue(queue, counting: enqueued, from: started)
                return []
            }
            tasks.addTask { try await sample(client, enqueued: enqueued, from: started) }
            var samples: [SoakSample] = []
            for try await taken in tasks { samples += taken }
            return samples
        }
        return SoakReport(settings: settings, samples: samples, autovacuumSettings: try await reloptions(client))
    }

    /// A tenth of the rate every 100 ms, each tick at a fixed instant so that the rate holds
    /// over the run even when one enqueue is slow.
    private func enqueue(_ queue: JobQueue, counting enqueued: EnqueuedCount, from started: ContinuousClock.Instant) async throws {
        let perTick = rate / 10
        var next = 0
        var tick = 0
        while next < jobs {
            try await Task.sleep(until: started + .milliseconds(100 * tick), clock: .continuous)
            let now = Date()
            let batch = (next..<min(next + perTick, jobs)).map { SoakJobs.job($0, now: now) }
            try await queue.enqueue(batch: batch)
            next += batch.count
            enqueued.value.store(next, ordering: .relaxed)
            tick += 1
        }
    }

    /// Samples until every job completed or the drain time after the last enqueue ran out.
    private func sample(_ client: PostgresClient, enqueued: EnqueuedCount, from started: ContinuousClock.Instant) async throws -> [SoakSample] {
        var samples = [try await SoakSample.take(client, workers: workers, enqueued: 0, since: nil, at: 0, logger: logger)]
        var drainDeadline: ContinuousClock.Instant?
        var number = 1
        while true {
            try await Task.sleep(until: started + sampleInterval * number, clock: .continuous)
            number += 1
            let seconds = (ContinuousClock.now - started).seconds
            let sample = try await SoakSample.take(
                client, workers: workers, enqueued: enqueued.value.load(ordering: .relaxed), since: samples.last, at: seconds, logger: logger)
            samples.append(sample)
            if sample.completed >= jobs { return samples }
            if sample.enqueued >= jobs {
                let deadline = drainDeadline ?? .now + drainTimeout
                drainDeadline = deadline
                if ContinuousClock.now >= deadline { return samples }
            }
            if let dead = workers.first(where: { !$0.isRunning }) {
                throw CLIError("worker process \(dead.pid) stopped (exit \(dead.exitCode)); see its log \(dead.log)")
            }
        }
    }

    private func reloptions(_ client: PostgresClient) async throws -> [String] {
        let rows = try await client.query("SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'jobs'::regclass", logger: logger)
        for try await options in rows.decode([String].self) { return options }
        return []
    }
}

/// Jobs enqueued so far, shared by the enqueue loop and the sampler.
final class EnqueuedCount: Sendable {
    let value = Atomic<Int>(0)
}

/// What one sample records.
struct SoakSample: Codable {
    var seconds: Double
    var enqueued: Int
    var completed: Int
    /// Completions a second since the previous sample.
    var jobsPerSecond: Double
    /// Rows not finished yet: waiting, scheduled, retryable or running.
    var unfinished: Int
    var liveRows: Int
    var deadRows: Int
    var autovacuums: Int
    var tableMB: Double
    var indexesMB: Double
    /// Each worker process's resident memory.
    var workerRSSMB: [Double]

    static func take(
        _ client: PostgresClient, workers: [SoakWorkerProcess], enqueued: Int, since previous: SoakSample?, at seconds: Double,
        logger: Logger
    ) async throws -> SoakSample {
        let rows = try await client.query("""
            SELECT (SELECT coalesce(sum(completed), 0)::int8 FROM job_outcome_counts),
                   (SELECT count(*)::int8 FROM jobs WHERE finalized_at IS NULL),
                   n_live_tup::int8, n_dead_tup::int8, autovacuum_count::int8,
                   pg_table_size('jobs')::int8, pg_indexes_size('jobs')::int8
            FROM pg_stat_user_tables WHERE relid = 'jobs'::regclass
            """, logger: logger)
        for try await (completed, unfinished, live, dead, autovacuums, table, indexes) in rows.decode(
            (Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
        {
            let interval = seconds - (previous?.seconds ?? 0)
            let done = Int(completed) - (previous?.completed ?? 0)
            return SoakSample(
                seconds: seconds, enqueued: enqueued, completed: Int(completed),
                jobsPerSecond: interval > 0 ? Double(done) / interval : 0, unfinished: Int(unfinished),
                liveRows: Int(live), deadRows: Int(dead), autovacuums: Int(autovacuums),
                tableMB: Double(table) / 1_048_576, indexesMB: Double(indexes) / 1_048_576,
                workerRSSMB: workers.map { $0.residentMegabytes() })
        }
        throw CLIError("no answer while sampling the jobs table")
    }
}

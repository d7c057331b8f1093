import Metrics
import Synchronization

/// The queue's swift-metrics instruments as a middleware: started, completed, failed, discarded
/// and snoozed attempts, run time and queue wait per queue and kind. Every ``WorkerService`` has
/// one, outermost, whatever other middleware it is given. Instruments are created once per
/// (queue, kind) and cached, since the factory look-up would otherwise run for every job.
final class QueueMetrics: JobMiddleware {
    struct Instruments: Sendable {
        let started: Counter
        let completed: Counter
        let failed: Counter
        let discarded: Counter
        let snoozed: Counter
        /// Handlers that ignored their cancellation and were left running.
        let abandoned: Counter
        let runTime: Timer
        let queueWait: Timer
    }

    /// Starts every metric's name: `jobqueue_` unless configured (an application may use its own name).
    let prefix: String
    private let cache = Mutex<[String: Instruments]>([:])

    init(prefix: String) {
        self.prefix = prefix
    }

    func instruments(queue: String, kind: String) -> Instruments {
        let key = queue + "\u{0}" + kind
        return cache.withLock { cache in
            if let cached = cache[key] { return cached }
            let dimensions = [("queue", queue), ("kind", kind)]
            let made = Instruments(
                started: Counter(label: prefix + "jobs_started_total", dimensions: dimensions),
                completed: Counter(label: prefix + "jobs_completed_total", dimensions: dimensions),
                failed: Counter(label: prefix + "jobs_failed_total", dimensions: dimensions),
                discarded: Counter(label: prefix + "jobs_discarded_total", dimensions: dimensions),
                snoozed: Counter(label: prefix + "jobs_snoozed_total", dimensions: dimensions),
                abandoned: Counter(label: prefix + "jobs_abandoned_total", dimensions: dimensions),
                runTime: Timer(label: prefix + "job_run_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds),
                queueWait: Timer(label: prefix + "job_queue_wait_seconds", dimensions: [("queue", queue)], preferredDisplayUnit: .seconds))
            cache[key] = made
            return made
        }
    }

    func run(_ job: JobContext, next: @Sendable () async throws -> Void) async throws {
        let instruments = instruments(queue: job.queue, kind: job.kind)
        instruments.started.increment()
        instruments.queueWait.recordNanoseconds(job.queueWait.nanoseconds)
        try await next()
    }

    func finished(_ job: JobContext, outcome: JobOutcome, runTime: Duration) {
        let instruments = instruments(queue: job.queue, kind: job.kind)
        instruments.runTime.recordNanoseconds(runTime.nanoseconds)
        switch outcome {
        case .completed: instruments.completed.increment()
        case .failed: instruments.failed.increment()
        case .discarded: instruments.discarded.increment()
        case .snoozed: instruments.snoozed.increment()
        case .stopped: break
        }
    }
}

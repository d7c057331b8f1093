import Metrics
import Synchronization

/// The queue's swift-metrics instruments, created once per (queue, kind) and cached, since the
/// factory look-up would otherwise run for every job.
final class QueueMetrics: Sendable {
    struct Instruments: Sendable {
        let started: Counter
        let completed: Counter
        let failed: Counter
        let discarded: Counter
        /// Handlers that ignored their cancellation and were left running.
        let abandoned: Counter
        let runTime: Timer
    }

    private let cache = Mutex<[String: Instruments]>([:])
    private let waits = Mutex<[String: Timer]>([:])

    func instruments(queue: String, kind: String) -> Instruments {
        let key = queue + "\u{0}" + kind
        return cache.withLock { cache in
            if let cached = cache[key] { return cached }
            let dimensions = [("queue", queue), ("kind", kind)]
            let made = Instruments(
                started: Counter(label: "creditops_jobs_started_total", dimensions: dimensions),
                completed: Counter(label: "creditops_jobs_completed_total", dimensions: dimensions),
                failed: Counter(label: "creditops_jobs_failed_total", dimensions: dimensions),
                discarded: Counter(label: "creditops_jobs_discarded_total", dimensions: dimensions),
                abandoned: Counter(label: "creditops_jobs_abandoned_total", dimensions: dimensions),
                runTime: Timer(label: "creditops_job_run_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds))
            cache[key] = made
            return made
        }
    }

    func queueWait(queue: String) -> Timer {
        waits.withLock { waits in
            if let cached = waits[queue] { return cached }
            let made = Timer(label: "creditops_job_queue_wait_seconds", dimensions: [("queue", queue)], preferredDisplayUnit: .seconds)
            waits[queue] = made
            return made
        }
    }
}

import Foundation
import JobQueue

/// The soak's workload: mostly no-ops, some 10 ms handlers, some jobs that fail once and are
/// retried, some scheduled a little ahead, so that every path of the queue (claim, completion,
/// failure, promotion, pruning) turns over millions of rows.
enum SoakJobs {
    static let queue = "soak"
    /// Seconds a scheduled job waits, and the retry delay of a job that fails once.
    static let delaySeconds = 5

    static func registry() -> JobRegistry {
        let registry = JobRegistry()
        registry.register(JobDefinition<NoArguments>(kind: "soak.noop", queue: queue) { _, _ in })
        registry.register(JobDefinition<NoArguments>(kind: "soak.sleep", queue: queue) { _, _ in
            try await Task.sleep(for: .milliseconds(10))
        })
        registry.register(JobDefinition<NoArguments>(kind: "soak.flaky", queue: queue) { _, context in
            if context.attempt == 1 { throw JobFailure.retry(after: .seconds(delaySeconds), "fails once by design") }
        })
        return registry
    }

    /// The `index`th job of the run: per hundred, 70 no-ops, 20 sleeps, 5 that fail once and 5 scheduled.
    static func job(_ index: Int, now: Date) -> NewJob {
        switch index % 100 {
        case ..<70: NewJob(kind: "soak.noop", queue: queue)
        case ..<90: NewJob(kind: "soak.sleep", queue: queue)
        case ..<95: NewJob(kind: "soak.flaky", queue: queue)
        default: NewJob(kind: "soak.noop", queue: queue, runAt: now.addingTimeInterval(Double(delaySeconds)))
        }
    }
}

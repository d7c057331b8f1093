/// Code that runs around every job a worker runs — logging, tracing, metrics — as swift-jobs'
/// `JobMiddleware` and Oban's telemetry events do. Give a worker its middleware in
/// ``WorkerService/Configuration/middleware``; the first in the list is the outermost.
///
/// ```swift
/// struct Timing: JobMiddleware {
///     func run(_ job: JobContext, next: @Sendable () async throws -> Void) async throws {
///         let start = ContinuousClock.now
///         defer { job.logger.info("took \(ContinuousClock.now - start)") }
///         try await next()
///     }
/// }
/// ```
public protocol JobMiddleware: Sendable {
    /// Runs one attempt: before the handler, `next()` (the handler and the middleware after this
    /// one), after it, and around its error. Call `next` exactly once; what this throws is the
    /// attempt's error.
    func run(_ job: JobContext, next: @Sendable () async throws -> Void) async throws

    /// Called once the attempt's outcome is decided (after retries were weighed), before it is
    /// written; `runTime` counts from the handler's start.
    func finished(_ job: JobContext, outcome: JobOutcome, runTime: Duration)
}

extension JobMiddleware {
    public func run(_ job: JobContext, next: @Sendable () async throws -> Void) async throws {
        try await next()
    }

    public func finished(_ job: JobContext, outcome: JobOutcome, runTime: Duration) {}
}

/// How an attempt ended, as ``JobMiddleware/finished(_:outcome:runTime:)`` sees it.
public enum JobOutcome: Sendable, Equatable {
    /// The handler returned.
    case completed
    /// It failed and runs again after `retryIn`.
    case failed(error: String, retryIn: Duration)
    /// It failed for good (no attempts left, or the handler said so).
    case discarded(error: String)
    /// The handler asked to run again after this delay (``JobSnooze``).
    case snoozed(Duration)
    /// The worker stopped the handler: the job was cancelled, is no longer this worker's, or the
    /// worker is shutting down (the job is then given back).
    case stopped(reason: String)
}

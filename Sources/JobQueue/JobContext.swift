public import Logging
import Synchronization

/// What a handler knows about the job it runs.
public struct JobContext: Sendable {
    /// The job's id.
    public let jobID: Int64
    /// The job's kind.
    public let kind: String
    /// The queue it was claimed from.
    public let queue: String
    /// This attempt, starting at 1.
    public let attempt: Int
    /// How many attempts the job may take in all.
    public let maxAttempts: Int
    /// The worker running it.
    public let workerID: String
    /// A logger with `job.id`, `job.kind`, `job.attempt` and `queue.name` set.
    public var logger: Logger { jobLogger.logger }
    private let jobLogger: JobLogger
    /// How long the job waited between becoming runnable and being claimed.
    public let queueWait: Duration

    /// True on the job's last allowed attempt.
    public var isLastAttempt: Bool { attempt >= maxAttempts }

    /// - Parameter logger: the worker's logger, to which the context adds the job's metadata.
    package init(
        jobID: Int64, kind: String, queue: String, attempt: Int, maxAttempts: Int, workerID: String, logger: Logger,
        queueWait: Duration = .zero
    ) {
        self.queueWait = queueWait
        self.jobID = jobID
        self.kind = kind
        self.queue = queue
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.workerID = workerID
        jobLogger = JobLogger(worker: logger, jobID: jobID, kind: kind, attempt: attempt, queue: queue)
    }
}

/// The job's logger, made on first use: each metadata key set on a `Logger` makes a handler such
/// as swift-log's `StreamLogHandler` format all of its metadata again, which for four keys was a
/// tenth of a busy worker's CPU time, spent on jobs that never log.
private final class JobLogger: Sendable {
    private let worker: Logger
    private let jobID: Int64
    private let kind: String
    private let attempt: Int
    private let queue: String
    private let made = Mutex<Logger?>(nil)

    init(worker: Logger, jobID: Int64, kind: String, attempt: Int, queue: String) {
        self.worker = worker
        self.jobID = jobID
        self.kind = kind
        self.attempt = attempt
        self.queue = queue
    }

    var logger: Logger {
        made.withLock { made in
            if let logger = made { return logger }
            var logger = worker
            logger[metadataKey: "job.id"] = "\(jobID)"
            logger[metadataKey: "job.kind"] = "\(kind)"
            logger[metadataKey: "job.attempt"] = "\(attempt)"
            logger[metadataKey: "queue.name"] = "\(queue)"
            made = logger
            return logger
        }
    }
}

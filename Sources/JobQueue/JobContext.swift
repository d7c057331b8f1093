public import Logging

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
    public let logger: Logger
    /// How long the job waited between becoming runnable and being claimed.
    public let queueWait: Duration

    /// True on the job's last allowed attempt.
    public var isLastAttempt: Bool { attempt >= maxAttempts }

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
        self.logger = logger
    }
}

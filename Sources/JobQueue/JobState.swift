/// Where a job is in its life. Stored as the `job_state` enum of the database.
public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Runnable now.
    case available
    /// Waits for its `run_at`.
    case scheduled
    /// Waits for the jobs it depends on to complete (``NewJob/dependsOn``).
    case waiting
    /// Claimed by a worker that holds a lease on it.
    case running
    /// Failed; runs again once its backoff has passed.
    case retryable
    /// Finished successfully.
    case completed
    /// Failed for good: out of attempts, or told not to retry.
    case discarded
    /// Cancelled by a person or a program.
    case cancelled
}

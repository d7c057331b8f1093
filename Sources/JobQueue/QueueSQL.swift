/// Facts of the schema that many of the queue's statements repeat, spelled once.
enum QueueSQL {
    /// The states of a job not finished yet.
    static let pendingStates = "('waiting', 'available', 'scheduled', 'running', 'retryable')"

    /// The conflict target of every insert: `ON CONFLICT` finds the `jobs_unique` index only when
    /// its predicate is written exactly as the index's, so every statement uses this.
    static let uniqueConflict = "(unique_key) WHERE unique_key IS NOT NULL AND state = ANY(unique_states)"

    /// Where runnable work is announced: the payload is the queue's name. The `jobs_notify_inserted`
    /// trigger of `jobqueue.sql` uses the same name.
    static let jobsChannel = "jobqueue_jobs"

    /// Where the cancellation of a running job is announced: the payload is the job's id. A channel
    /// of its own, so that a queue may have any name and a cancellation is never read as one.
    static let cancelChannel = "jobqueue_job_cancel"
}

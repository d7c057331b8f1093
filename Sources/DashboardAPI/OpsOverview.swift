import CreditWorkers
import JobQueue

/// What `/ops` shows the root's operators besides the jobs table: the same for every one of them,
/// so it is read (its statements at once) and its charts drawn at most once per
/// ``DashboardServer/resultLifetime``, however many open tabs refresh; a write through this process
/// forgets it (``ForgetAfterWritesMiddleware``).
struct OpsOverview: Sendable {
    var stats: [QueueStats]
    var leader: LeaderInfo?
    var audit: [AuditLog.Event]
    var reminders: [String: Int]
    var workers: [WorkerInfo]
    var periodicJobs: [PeriodicJobInfo]
    /// ``OpsCharts/section(hour:day:)``, drawn.
    var charts: String
}

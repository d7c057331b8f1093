import CreditWorkers
import Foundation
import JobQueue
import Logging
import PostgresNIO

/// The gateways' quotas as limits of the reminders queue, across every worker:
/// `CREDITOPS_REMINDERS_RATE` (`N/SECONDSs`, e.g. `20/1s` for an SMS gateway's 20 a second, or
/// `none`) and `CREDITOPS_REMINDERS_CONCURRENCY` (a whole number, or `none`). `worker`, `run` and
/// `demo` set them at start; a variable left unset leaves that limit as the database has it, so
/// `queues limit` stays the way to change it while workers run.
struct ReminderQueueLimits {
    var concurrency: Int??
    var rate: RateLimit??

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ReminderQueueLimits {
        var limits = ReminderQueueLimits()
        if let text = environment["CREDITOPS_REMINDERS_CONCURRENCY"] {
            if text == "none" {
                limits.concurrency = .some(nil)
            } else {
                guard let value = Int(text), value >= 1 else {
                    throw CLIError("CREDITOPS_REMINDERS_CONCURRENCY '\(shown(text))' is not a whole number of at least 1, or none")
                }
                limits.concurrency = value
            }
        }
        if let text = environment["CREDITOPS_REMINDERS_RATE"] {
            if text == "none" {
                limits.rate = .some(nil)
            } else {
                guard let value = RateLimit(text) else {
                    throw CLIError("CREDITOPS_REMINDERS_RATE '\(shown(text))' is not N/SECONDSs such as 20/1s, or none")
                }
                limits.rate = value
            }
        }
        return limits
    }

    /// Writes the configured limits, keeping the ones not configured.
    func apply(client: PostgresClient, logger: Logger) async throws {
        guard concurrency != nil || rate != nil else { return }
        let queue = JobQueue(client: client, registry: JobRegistry(), logger: logger)
        let current = try await queue.stats().first { $0.queue == ReminderPlanner.queue }
        let newConcurrency = concurrency ?? current?.concurrencyLimit
        let newRate = rate ?? current?.rateLimit
        try await queue.setLimits(queue: ReminderPlanner.queue, concurrency: newConcurrency, rate: newRate)
        logger.info("Reminders queue limits", metadata: [
            "queue.concurrency": "\(newConcurrency.map(String.init) ?? "none")", "queue.rate": "\(newRate.map(\.description) ?? "none")",
        ])
    }
}

public import ArgumentParser
import CreditWorkers
import Foundation
import JobQueue

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List, inspect, retry and cancel jobs.",
        subcommands: [List.self, Show.self, Retry.self, Cancel.self, Stats.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List jobs, newest first.",
            discussion: "Examples:\n  creditops jobs list --state discarded --queue default --limit 20\n  creditops jobs list --tag audit-2026 --meta unit=T01")

        @Option(help: "available, scheduled, running, retryable, completed, discarded or cancelled.")
        var state: JobState?
        @Option(help: "Only this queue.") var queue: String?
        @Option(help: "Only this kind.") var kind: String?
        @Option(help: "At most this many (1...1000).") var limit: Int = 50
        @Option(name: .customLong("before-id"), help: "Page: only jobs with a smaller id.") var beforeID: Int64?
        @Option(name: .customLong("tag"), help: "Only jobs with this tag; repeat for jobs with all of them.") var tags: [String] = []
        @Option(name: .customLong("meta"), help: "Only jobs whose meta has KEY=VALUE; repeat for all of them.") var meta: [String] = []
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be within 1...1000") }
            for (name, value) in [("--queue", queue), ("--kind", kind)] {
                if let value, value.isEmpty || value.count > 128 {
                    throw ValidationError("\(name) must have 1 to 128 characters")
                }
            }
        }

        func run() async throws {
            try await reportingErrors {
                var wanted = JobFilter(state: state, queue: queue, kind: kind, limit: limit, beforeID: beforeID)
                wanted.tags = tags
                wanted.metaMatches = try MetaOption.parse(meta)
                let filter = wanted
                let jobs = try await withQueue(database, logging) { try await $0.jobs(filter) }
                if json { return try printJSON(jobs) }
                printTable(
                    ["ID", "QUEUE", "KIND", "STATE", "ATTEMPT", "RUN AT", "TAGS", "LAST ERROR"],
                    jobs.map { job in
                        [String(job.id), job.queue, job.kind, job.state.rawValue, "\(job.attempt)/\(job.maxAttempts)",
                         Display.time(job.runAt), Display.clip(job.tags.joined(separator: ","), 30),
                         job.errors.last.map { Display.clip($0.error, 50) } ?? ""]
                    })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one job with its arguments and every attempt's error.",
            discussion: "Example:\n  creditops jobs show 42")

        @Argument(help: "The job id.") var id: Int64
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let job = try await withQueue(database, logging) { try await $0.job(id: id) }
                if json { return try printJSON(job) }
                let lines: [(String, String)] = [
                    ("id", String(job.id)), ("queue", job.queue), ("kind", job.kind), ("state", job.state.rawValue),
                    ("attempt", "\(job.attempt) of \(job.maxAttempts)"), ("priority", String(job.priority)),
                    ("args", job.args), ("run at", Display.time(job.runAt)),
                    ("attempted at", job.attemptedAt.map(Display.time) ?? "-"), ("attempted by", job.attemptedBy ?? "-"),
                    ("lease until", job.leaseExpiresAt.map(Display.time) ?? "-"), ("unique key", job.uniqueKey ?? "-"),
                    ("created at", Display.time(job.createdAt)), ("finalized at", job.finalizedAt.map(Display.time) ?? "-"),
                    ("tags", job.tags.isEmpty ? "-" : job.tags.joined(separator: ", ")),
                    ("depends on", job.dependsOn.isEmpty ? "-" : job.dependsOn.map(String.init).joined(separator: ", ")),
                    ("meta", job.meta.isEmpty ? "-" : job.meta.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
                ]
                for (label, value) in lines { print(label.padding(toLength: 13, withPad: " ", startingAt: 0) + value) }
                if !job.errors.isEmpty {
                    print("errors:")
                    for error in job.errors { print("  attempt \(error.attempt) at \(Display.time(error.at)): \(error.error)") }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a discarded, cancelled, retryable or scheduled job run now.",
            discussion: "Example:\n  creditops jobs retry 42")

        @Argument(help: "The job id.") var id: Int64
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                try await withQueue(database, logging, audit: ("job.retry", "job \(id)")) { try await $0.retry(jobID: id) }
                print("Job \(id) is available to run again.")
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a pending or running job (a running one has its task cancelled).",
            discussion: "Example:\n  creditops jobs cancel 42")

        @Argument(help: "The job id.") var id: Int64
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let previous = try await withQueue(database, logging, audit: ("job.cancel", "job \(id)")) { try await $0.cancel(jobID: id) }
                print("Job \(id) cancelled (was \(previous.rawValue)).")
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Jobs per queue and state.",
            discussion: "Example:\n  creditops jobs stats --json")

        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                let overview = try await withQueue(database, logging) { try await QueueOverview.load($0) }
                if json { return try printJSON(overview) }
                overview.print()
            }
        }
    }
}

extension JobState: ExpressibleByArgument {}

/// Runs `body` with a queue on the configured database; with `audit`, a write recorded in the
/// audit trail (action, target) as the command line's, with its outcome.
func withQueue<T: Sendable>(
    _ database: DatabaseOptions, _ logging: LoggingOptions, audit: (action: String, target: String)? = nil,
    _ body: @Sendable (JobQueue) async throws -> T
) async throws -> T {
    let logger = logging.logger()
    return try await database.withClient(logger: logger) { client in
        let queue = JobQueue(client: client, registry: JobKinds.registry(client: client, logger: logger), logger: logger)
        guard let audit else { return try await body(queue) }
        return try await AuditLog(client: client, logger: logger).recording(.commandLine, action: audit.action, target: audit.target) {
            try await body(queue)
        }
    }
}

/// Queues, the leader and the periodic jobs: what `queues list` and `jobs stats` show.
struct QueueOverview: Encodable {
    var queues: [QueueStats]
    var leader: LeaderInfo?
    var periodicJobs: [PeriodicJobInfo]

    static func load(_ queue: JobQueue) async throws -> QueueOverview {
        QueueOverview(queues: try await queue.stats(), leader: try await queue.leader(), periodicJobs: try await queue.periodicJobs())
    }

    func print() {
        printQueueStats(queues)
        Swift.print("")
        Swift.print("leader: \(leader.map { "\($0.id) (since \(Display.time($0.electedAt)))" } ?? "none: no run or worker process holds it")")
        if !periodicJobs.isEmpty {
            Swift.print("")
            printTable(
                ["PERIODIC", "SCHEDULE", "LAST RUN", "LAST JOB", "NEXT RUN"],
                periodicJobs.map { job in
                    [job.name, job.schedule, job.lastScheduledAt.map(Display.time) ?? "-",
                     job.lastJobID.map { "\($0) (\(job.lastJobState?.rawValue ?? "pruned"))" } ?? "-",
                     job.nextRunAt.map(Display.time) ?? "-"]
                })
        }
    }
}

func printQueueStats(_ stats: [QueueStats]) {
    printTable(
        ["QUEUE", "PAUSED", "AVAILABLE", "SCHEDULED", "RUNNING", "RETRYABLE", "COMPLETED 24H", "DISCARDED", "CANCELLED", "OLDEST WAIT", "LIMITS"],
        stats.map { queue in
            let limits = [queue.concurrencyLimit.map { "≤\($0) running" }, queue.rateLimit.map { "\($0)" }].compactMap { $0 }
            return [queue.queue, queue.paused ? "yes" : "no", String(queue.available), String(queue.scheduled), String(queue.running),
                    String(queue.retryable), String(queue.completed), String(queue.discarded), String(queue.cancelled),
                    queue.oldestAvailableAgeSeconds.map { String(format: "%.1fs", $0) } ?? "-",
                    limits.isEmpty ? "-" : limits.joined(separator: ", ")]
        })
}

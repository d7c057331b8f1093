import ArgumentParser
import JobQueue

struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues",
        abstract: "List, pause, resume and limit queues.",
        subcommands: [List.self, Pause.self, Resume.self, Limit.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every queue with its counts and whether it is paused.",
            discussion: "Example:\n  creditops queues list")

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

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start nothing new from a queue; running jobs finish.",
            discussion: "Example:\n  creditops queues pause reminders")

        @Argument(help: "The queue.") var queue: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                try await withQueue(database, logging, audit: ("queue.pause", "queue \(queue)")) { try await $0.pause(queue: queue) }
                print("Queue \(queue) paused.")
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a paused queue run again.",
            discussion: "Example:\n  creditops queues resume reminders")

        @Argument(help: "The queue.") var queue: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await reportingErrors {
                try await withQueue(database, logging, audit: ("queue.resume", "queue \(queue)")) { try await $0.resume(queue: queue) }
                print("Queue \(queue) resumed.")
            }
        }
    }

    struct Limit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Limit a queue across every worker: jobs running at once, and starts per period.",
            discussion: """
                A gateway's quota, whatever the number of workers: the SMS gateway takes 20 messages a
                second, the Zalo OA 5,000 a day. Workers see a change within their poll interval.

                Examples:
                  creditops queues limit reminders --concurrency 10 --rate 20/1s
                  creditops queues limit reminders --rate none
                """)

        @Argument(help: "The queue.") var queue: String
        @Option(help: "At most this many of its jobs running at once, or `none`.") var concurrency: String?
        @Option(help: "At most N starts per SECONDS, as N/SECONDSs (20/1s, 5000/86400s), or `none`.") var rate: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard concurrency != nil || rate != nil else { throw ValidationError("give --concurrency, --rate or both") }
            if let concurrency, concurrency != "none", (Int(concurrency) ?? 0) < 1 {
                throw ValidationError("--concurrency '\(shown(concurrency))' is not a whole number of at least 1, or none")
            }
            if let rate, rate != "none", RateLimit(rate) == nil {
                throw ValidationError("--rate '\(shown(rate))' is not N/SECONDSs such as 20/1s, or none")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let target = "queue \(queue): concurrency \(concurrency ?? "unchanged"), rate \(rate ?? "unchanged")"
                let stats = try await withQueue(database, logging, audit: ("queue.limit", target)) { queue in
                    let current = try await queue.stats().first { $0.queue == self.queue }
                    let newConcurrency = concurrency.map { $0 == "none" ? nil : Int($0) } ?? current?.concurrencyLimit
                    let newRate = rate.map { $0 == "none" ? nil : RateLimit($0) } ?? current?.rateLimit
                    try await queue.setLimits(queue: self.queue, concurrency: newConcurrency, rate: newRate)
                    return try await queue.stats().first { $0.queue == self.queue }
                }
                let limits = [stats?.concurrencyLimit.map { "at most \($0) running" }, stats?.rateLimit.map { "at most \($0)" }].compactMap { $0 }
                print("Queue \(queue): \(limits.isEmpty ? "no limits" : limits.joined(separator: ", ")).")
            }
        }
    }
}

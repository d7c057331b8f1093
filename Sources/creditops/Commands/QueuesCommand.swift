import ArgumentParser
import JobQueue

struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues",
        abstract: "List, pause and resume queues.",
        subcommands: [List.self, Pause.self, Resume.self]
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
}

import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation
import JobQueue

struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Queue one job and print its id.",
        discussion: """
            The kind must be one this build knows (see the error for the list); its arguments are checked
            before anything is written. With --unique-key (or --unique-args: the same kind and arguments), a
            second enqueue while the first job is still pending prints the first job's id instead of
            queueing another; --unique-period makes the key hold within one period (86400: once a day),
            --unique-states adds finished states that still count, --on-conflict says what the second
            enqueue does to the first (keep, replace-args, push-run-at: a debounce). With --depends-on,
            the job waits until those jobs completed, and is cancelled if one of them fails for good.

            Examples:
              creditops enqueue noop
              creditops enqueue sleep --args '{"milliseconds": 500}' --queue default --priority -1
              creditops enqueue noop --run-at 2026-12-01T07:00:00+07:00 --unique-key nightly-2026-12-01
              creditops enqueue aggregates.rebuild --tag audit-2026 --meta unit=T01
              creditops enqueue aggregates.rebuild --args '{"unit": "T01"}' --unique-args --unique-period 86400 --unique-states completed
              creditops enqueue aggregates.rebuild --depends-on 41 --depends-on 42
            """
    )

    @Argument(help: "The job kind, e.g. noop.")
    var kind: String

    @Option(help: "Arguments as a JSON object.")
    var args: String = "{}"

    @Option(help: "Queue (default: the kind's queue).")
    var queue: String?

    @Option(help: "Priority, -100...100; lower runs first.")
    var priority: Int = 0

    @Option(name: .customLong("run-at"), help: "When to run, ISO 8601 with an offset (default: now).")
    var runAt: String?

    @Option(name: .customLong("unique-key"), help: "At most one pending job with this key.")
    var uniqueKey: String?

    @Flag(name: .customLong("unique-args"), help: "At most one pending job of this kind with these arguments.")
    var uniqueArgs = false

    @Option(name: .customLong("unique-period"), help: "Seconds within which the unique key holds (86400: once a day).")
    var uniquePeriod: Double?

    @Option(name: .customLong("unique-states"), help: "Finished states that also count for uniqueness: completed, discarded, cancelled (comma-separated).")
    var uniqueStates: String?

    @Option(name: .customLong("on-conflict"), help: "When a unique job is queued already: keep (default), replace-args, push-run-at.")
    var onConflict: String?

    @Option(name: .customLong("depends-on"), help: "The id of a job this one waits for; repeat for more (at most 100).")
    var dependsOn: [Int64] = []

    @Option(name: .customLong("max-attempts"), help: "Attempts before the job is discarded (1...1000).")
    var maxAttempts: Int?

    @Option(name: .customLong("tag"), help: "A tag to find the job by; repeat for more (at most 20).")
    var tags: [String] = []

    @Option(name: .customLong("meta"), help: "KEY=VALUE kept with the job (meta); repeat for more. `unit` scopes who sees the job.")
    var meta: [String] = []

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingErrors {
            var parsedRunAt: Date?
            if let runAt {
                guard let parsed = ISOTime.parse(runAt) else {
                    throw CLIError("--run-at '\(shown(runAt))' is not an ISO 8601 time such as 2026-12-01T07:00:00+07:00")
                }
                parsedRunAt = parsed
            }
            let metaPairs = try MetaOption.parse(meta)
            let unique = try UniqueOptions.parse(
                by: uniqueArgs ? "args" : nil, key: uniqueKey, periodSeconds: uniquePeriod,
                finishedStates: uniqueStates.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? [],
                onConflict: onConflict)
            let logger = logging.logger()
            let runDate = parsedRunAt
            let id = try await database.withClient(logger: logger) { client in
                let registry = JobKinds.registry(client: client, logger: logger)
                try registry.validate(kind: kind, argsJSON: args)
                let defaults = registry.defaults(for: kind)
                let job = NewJob(
                    kind: kind, argsJSON: args, queue: queue ?? defaults?.queue ?? "default", priority: priority,
                    runAt: runDate, maxAttempts: maxAttempts ?? defaults?.maxAttempts ?? 20,
                    meta: metaPairs, tags: tags, unique: unique, dependsOn: dependsOn)
                let id = try await JobQueue(client: client, registry: registry, logger: logger).enqueue(job)
                await AuditLog(client: client, logger: logger).record(.commandLine, action: "job.enqueue", target: "job \(id) (\(kind))", outcome: "ok")
                return id
            }
            print(json ? #"{"id":\#(id)}"# : "\(id)")
        }
    }
}

/// `--meta KEY=VALUE`, repeated.
enum MetaOption {
    static func parse(_ options: [String]) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for option in options {
            guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                throw CLIError("--meta '\(shown(option))' is not KEY=VALUE, e.g. --meta unit=T01")
            }
            pairs[String(option[..<equals])] = String(option[option.index(after: equals)...])
        }
        return pairs
    }
}

import ArgumentParser
import CreditDomain
import CreditWorkers
import Foundation
import Hummingbird
import JobQueue
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Planning a month of reminders over a seeded database (with and without digests, to compare),
/// then delivering a share of them to a webhook sink in this process.
struct RemindersBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reminders",
        abstract: "Time the planners over a month and webhook delivery to a local sink.",
        discussion: """
            Needs a seeded database (e.g. creditops seed --profile national). Plans the reminders (--planners
            sessions, or all four) of every day of --month as the 07:00 run of each day would; with --digests
            both, first without digests, then (the month's rows removed) with them. Then makes --deliver of the planned
            deliveries due now and delivers them through the webhook channel to an HTTP sink on 127.0.0.1
            in this process, with one worker of --concurrency. Leaves the planned rows in the database.

            Example:
              creditops bench reminders --month 2026-12 --deliver 20000 --concurrency 50
              creditops bench reminders --month 2026-12 --planners all --digests both --deliver 0
            """
    )

    enum Planners: String, ExpressibleByArgument, CaseIterable { case sessions, all }
    enum Digests: String, ExpressibleByArgument, CaseIterable { case on, off, both }

    @Option(help: "The month to plan, YYYY-MM.") var month: String
    @Option(help: "sessions, or all four planners.") var planners = Planners.sessions
    @Option(help: "Plan with digests (on), without (off), or both in turn to compare.") var digests = Digests.on
    @Option(help: "How many deliveries to time.") var deliver = 20_000
    @Option(help: "Deliveries in flight at once.") var concurrency = 50
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    struct Report: Codable {
        var days: Int
        var months: [MonthPlan]
        var delivered: Int
        var deliverySeconds: Double
        var deliveriesPerSecond: Double
    }

    /// One planning of the month.
    struct MonthPlan: Codable {
        var digests: Bool
        /// Reminders due (reminder, recipient, step).
        var reminders: Int
        /// Messages written (each with a delivery job): fewer than reminders with digests.
        var messages: Int
        var digestMessages: Int
        /// Outbox rows that carry an expiry.
        var withExpiry: Int
        var planSeconds: Double
        var slowestDaySeconds: Double
    }

    func validate() throws {
        guard CalendarDate(iso: month + "-01") != nil else { throw ValidationError("--month '\(shown(month))' is not YYYY-MM") }
        guard (0...1_000_000).contains(deliver) else { throw ValidationError("--deliver must be within 0...1000000") }
        guard (1...1000).contains(concurrency) else { throw ValidationError("--concurrency must be within 1...1000") }
    }

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let first = CalendarDate(iso: month + "-01")!
            let days = CalendarDate.daysIn(month: first.month, year: first.year)
            let deliver = deliver, concurrency = concurrency
            let kinds: [ReminderPlanner.Kind] = planners == .all ? ReminderPlanner.Kind.allCases : [.sessions]
            let settings: [Bool] = switch digests { case .on: [true]; case .off: [false]; case .both: [false, true] }
            let json = json
            let report = try await database.withClient(logger: logger.quieter()) { client in
                let planner = ReminderPlanner(client: client, registry: JobKinds.registry(client: client, logger: logger), logger: logger.quieter())
                var months: [MonthPlan] = []
                for (index, withDigests) in settings.enumerated() {
                    if index > 0 { try await Self.removePlanned(client: client, logger: logger) }
                    try await client.query(
                        withDigests
                            ? "UPDATE reminder_settings SET digest_kinds = '{session_reminder,overdue_followup,loan_use_check,report_deadline}'"
                            : "UPDATE reminder_settings SET digest_kinds = '{}'",
                        logger: logger)
                    var plan = MonthPlan(digests: withDigests, reminders: 0, messages: 0, digestMessages: 0, withExpiry: 0,
                                         planSeconds: 0, slowestDaySeconds: 0)
                    let started = ContinuousClock.now
                    for offset in 0..<days {
                        let day = first.adding(days: offset)
                        // 07:00 in Vietnam that day.
                        let seven = Date(timeIntervalSince1970: Double(day.daysSinceEpoch * 86_400 + 7 * 3600 - CalendarDate.vietnamOffsetSeconds))
                        var dayMessages = 0, daySeconds = 0.0
                        for kind in kinds {
                            let result = try await planner.plan(kind, day: day, now: seven)
                            plan.reminders += result.due - result.withoutPhone
                            dayMessages += result.created
                            plan.digestMessages += result.digests
                            daySeconds += result.seconds
                        }
                        plan.messages += dayMessages
                        plan.slowestDaySeconds = max(plan.slowestDaySeconds, daySeconds)
                        if !json { printError("  \(day.iso)\(withDigests ? " (digests)" : ""): \(dayMessages) messages in \(Display.seconds(daySeconds))") }
                    }
                    plan.planSeconds = started.elapsedSeconds
                    plan.withExpiry = try await Self.count("SELECT count(*) FROM notifications WHERE expires_at IS NOT NULL", client: client, logger: logger)
                    months.append(plan)
                }
                let (delivered, deliverySeconds) = try await Self.deliver(deliver, concurrency: concurrency, client: client, logger: logger)
                return Report(days: days, months: months, delivered: delivered, deliverySeconds: deliverySeconds,
                              deliveriesPerSecond: deliverySeconds > 0 ? Double(delivered) / deliverySeconds : 0)
            }
            if json {
                try printJSON(report)
            } else {
                for plan in report.months {
                    print("Planned \(report.days) days \(plan.digests ? "with" : "without") digests: \(plan.reminders) reminders as \(plan.messages) messages "
                        + "(\(plan.digestMessages) digests) in \(Display.seconds(plan.planSeconds)) (slowest day \(Display.seconds(plan.slowestDaySeconds))); "
                        + "\(plan.withExpiry) outbox rows with an expiry.")
                }
                print("Delivered \(report.delivered) to a local webhook sink in \(Display.seconds(report.deliverySeconds)): \(Int(report.deliveriesPerSecond)) per second.")
            }
        }
    }

    /// Removes what a planning of the month wrote, so that the next one starts from the same state.
    static func removePlanned(client: PostgresClient, logger: Logger) async throws {
        try await client.query("DELETE FROM jobs WHERE kind = 'notifications.deliver'", logger: logger)
        try await client.query("TRUNCATE notifications, followups", logger: logger)
    }

    static func count(_ sql: String, client: PostgresClient, logger: Logger) async throws -> Int {
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) { return value }
        return 0
    }

    /// Makes `count` planned deliveries due now and times a worker sending them to a local sink.
    static func deliver(_ count: Int, concurrency: Int, client: PostgresClient, logger: Logger) async throws -> (Int, Double) {
        guard count > 0 else { return (0, 0) }
        let ids = try await client.query("""
            WITH picked AS (
                SELECT j.id, (j.args->>'notification')::bigint AS notification FROM jobs j
                WHERE j.kind = 'notifications.deliver' AND j.state IN ('scheduled', 'available') ORDER BY j.id LIMIT \(count)
            ), due AS (
                UPDATE jobs SET state = 'available', run_at = now() FROM picked WHERE jobs.id = picked.id RETURNING picked.notification
            )
            SELECT notification FROM due
            """, logger: logger)
        var notifications: [Int64] = []
        for try await id in ids.decode(Int64.self) { notifications.append(id) }
        let received = Atomic<Int>(0)
        let port = Mutex<Int?>(nil)
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            _ = try await request.body.collect(upTo: 1 << 20)
            received.wrappingAdd(1, ordering: .relaxed)
            return .ok
        }
        let sink = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger.quieter())
        let sinkGroup = ServiceGroup(configuration: .init(services: [sink], gracefulShutdownSignals: [], logger: logger.quieter()))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await sinkGroup.run() }
            defer { tasks.cancelAll() }
            var sinkPort: Int?
            for _ in 0..<500 where sinkPort == nil {
                sinkPort = port.withLock { $0 }
                try await Task.sleep(for: .milliseconds(10))
            }
            guard let sinkPort else { throw CLIError("the local webhook sink did not start") }
            let channel = WebhookChannel(configuration: .init(url: "http://127.0.0.1:\(sinkPort)/hook", secret: "bench-secret"))
            let registry = JobRegistry()
            // Within the sending hours, whatever the time of the run.
            let tenOClock = Date(timeIntervalSince1970: 1_794_625_200)
            registry.register(DeliveryJobs(client: client, channel: channel, clock: { tenOClock }).deliver)
            let worker = WorkerService(
                client: client, registry: registry,
                configuration: .init(queues: [ReminderPlanner.queue: concurrency]), logger: logger.quieter())
            let workers = ServiceGroup(configuration: .init(services: [worker], gracefulShutdownSignals: [], logger: logger.quieter()))
            let started = ContinuousClock.now
            tasks.addTask { try await workers.run() }
            var sent = 0
            // Bounded: a thousandth of a second per delivery is generous; ten minutes at most.
            let deadline = ContinuousClock.now + .seconds(max(60, min(600, count / 1000)))
            while sent < notifications.count && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                for try await value in try await client.query(
                    "SELECT count(*) FROM notifications WHERE id = ANY(\(notifications)) AND state = 'sent'", logger: logger
                ).decode(Int.self) {
                    sent = value
                }
            }
            let seconds = started.elapsedSeconds
            await workers.triggerGracefulShutdown()
            await sinkGroup.triggerGracefulShutdown()
            guard sent == notifications.count else {
                throw CLIError("only \(sent) of \(notifications.count) deliveries were sent within the time limit (\(received.load(ordering: .relaxed)) reached the sink)")
            }
            return (sent, seconds)
        }
    }
}

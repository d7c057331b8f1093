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

/// Planning a month of session reminders over a seeded database, then delivering a share of
/// them to a webhook sink in this process.
struct RemindersBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reminders",
        abstract: "Time the session planner over a month and webhook delivery to a local sink.",
        discussion: """
            Needs a seeded database (e.g. creditops seed --profile national). Plans the session reminders
            of every day of --month (as the 07:00 run of each day would), then makes --deliver of the planned
            deliveries due now and delivers them through the webhook channel to an HTTP sink on 127.0.0.1
            in this process, with one worker of --concurrency. Leaves the planned rows in the database.

            Example:
              creditops bench reminders --month 2026-12 --deliver 20000 --concurrency 50
            """
    )

    @Option(help: "The month to plan, YYYY-MM.") var month: String
    @Option(help: "How many deliveries to time.") var deliver = 20_000
    @Option(help: "Deliveries in flight at once.") var concurrency = 50
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    struct Report: Codable {
        var days: Int
        var notificationsPlanned: Int
        var planSeconds: Double
        var slowestDaySeconds: Double
        var delivered: Int
        var deliverySeconds: Double
        var deliveriesPerSecond: Double
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
            let report = try await database.withClient(logger: logger.quieter()) { client in
                let planner = ReminderPlanner(client: client, registry: JobKinds.registry(client: client, logger: logger), logger: logger.quieter())
                var planned = 0
                var slowest = 0.0
                let started = ContinuousClock.now
                for offset in 0..<days {
                    let day = first.adding(days: offset)
                    // 07:00 in Vietnam that day.
                    let seven = Date(timeIntervalSince1970: Double(day.daysSinceEpoch * 86_400 + 7 * 3600 - CalendarDate.vietnamOffsetSeconds))
                    let result = try await planner.plan(.sessions, day: day, now: seven)
                    planned += result.created
                    slowest = max(slowest, result.seconds)
                    if !json { printError("  \(day.iso): \(result.created) reminders in \(Display.seconds(result.seconds))") }
                }
                let planSeconds = started.elapsedSeconds
                let (delivered, deliverySeconds) = try await Self.deliver(deliver, concurrency: concurrency, client: client, logger: logger)
                return Report(days: days, notificationsPlanned: planned, planSeconds: planSeconds, slowestDaySeconds: slowest,
                              delivered: delivered, deliverySeconds: deliverySeconds,
                              deliveriesPerSecond: deliverySeconds > 0 ? Double(delivered) / deliverySeconds : 0)
            }
            if json {
                try printJSON(report)
            } else {
                print("Planned \(report.notificationsPlanned) session reminders for \(report.days) days in \(Display.seconds(report.planSeconds)) (slowest day \(Display.seconds(report.slowestDaySeconds))).")
                print("Delivered \(report.delivered) to a local webhook sink in \(Display.seconds(report.deliverySeconds)): \(Int(report.deliveriesPerSecond)) per second.")
            }
        }
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

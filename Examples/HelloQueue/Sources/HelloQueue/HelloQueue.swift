import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A three-step workflow on JobQueue alone: fetch two pages, then build an index from both, then
/// publish it. The index waits for both fetches, the publication for the index.
///
///     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres swift run HelloQueue
@main
struct HelloQueue {
    struct Page: Codable, Sendable { var url: String }
    struct Step: Codable, Sendable { var name: String }

    static func main() async throws {
        let logger = Logger(label: "hello-queue")
        let url = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"
        guard let components = URLComponents(string: url), let host = components.host else {
            throw HelloError("DATABASE_URL is not a postgres:// URL: \(url)")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()).nilIfEmpty ?? "postgres", tls: .disable)
        configuration.options.maximumConnections = 4

        let done = Mutex<[String]>([])
        let registry = JobRegistry()
        registry.register(JobDefinition<Page>(kind: "hello.fetch") { page, context in
            context.logger.info("fetching \(page.url)")
            done.withLock { $0.append("fetch \(page.url)") }
        })
        registry.register(JobDefinition<Step>(kind: "hello.step") { step, _ in
            done.withLock { $0.append(step.name) }
        })

        let client = PostgresClient(configuration: configuration)
        let queueClient = PostgresClient(configuration: configuration.forQueue(maximumConnections: 4))
        let maintenance = QueueMaintenanceService(client: queueClient, logger: logger)
        let worker = WorkerService(client: queueClient, registry: registry, configuration: .init(queues: ["default": 4]), logger: logger)
        let leader = LeaderElection(
            client: queueClient, candidateID: worker.configuration.workerID, duties: [maintenance.rescueDuty], logger: logger)
        let group = ServiceGroup(
            services: [client, queueClient, maintenance, leader, worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await JobQueue.migrate(client, logger: logger)
            let queue = JobQueue(client: client, registry: registry, logger: logger)
            let fetches = try await queue.enqueue(batch: [
                NewJob(kind: "hello.fetch", argsJSON: #"{"url": "https://example.org/a"}"#),
                NewJob(kind: "hello.fetch", argsJSON: #"{"url": "https://example.org/b"}"#),
            ])
            let index = try await queue.enqueue(NewJob(kind: "hello.step", argsJSON: #"{"name": "index"}"#, dependsOn: fetches))
            let publish = try await queue.enqueue(NewJob(kind: "hello.step", argsJSON: #"{"name": "publish"}"#, dependsOn: [index]))

            // Bounded: a minute is far more than four no-op jobs need.
            let deadline = ContinuousClock.now + .seconds(60)
            while try await queue.job(id: publish).state != .completed {
                guard ContinuousClock.now < deadline else { throw HelloError("the workflow did not finish within a minute") }
                try await Task.sleep(for: .milliseconds(100))
            }
            print(done.withLock { $0 }.joined(separator: " → "))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

struct HelloError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

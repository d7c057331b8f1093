import CoreMetrics
import Foundation
import JobQueue
import MetricsTestKit
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// A middleware that writes down what it saw, in order.
final class Journal: JobMiddleware {
    let name: String
    private let entries: Mutex<[String]>

    init(_ name: String) {
        self.name = name
        self.entries = Mutex([])
    }

    var lines: [String] { entries.withLock { $0 } }

    func run(_ job: JobContext, next: @Sendable () async throws -> Void) async throws {
        entries.withLock { $0.append("\(name) before \(job.kind)") }
        do {
            try await next()
            entries.withLock { $0.append("\(name) after \(job.kind)") }
        } catch {
            entries.withLock { $0.append("\(name) error \(job.kind): \(error)") }
            throw error
        }
    }

    func finished(_ job: JobContext, outcome: JobOutcome, runTime: Duration) {
        entries.withLock { $0.append("\(name) finished \(job.kind): \(outcome)") }
    }
}

/// Hooks around every job: before, after, on error, and the decided outcome.
@Suite struct MiddlewareTests {
    @Test func middlewareRunsAroundEveryJobInOrder() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let order = Mutex<[String]>([])
            let registry = JobRegistry()
            registry.register(JobDefinition<NoArguments>(kind: "fine") { _, _ in order.withLock { $0.append("handler fine") } })
            registry.register(JobDefinition<NoArguments>(kind: "broken", maxAttempts: 1) { _, _ in
                throw JobFailure.discard("broken on purpose")
            })
            let outer = Journal("outer"), inner = Journal("inner")
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            try await queue.enqueue(NewJob(kind: "fine"))
            let worker = WorkerService(
                client: client, registry: registry, configuration: .init(queues: ["default": 1], middleware: [outer, inner]),
                logger: silentLogger)
            try await withRunningServices([worker]) {
                try await expectEventually { try await JobTable(client: client).count(.completed) == 1 }
                try await queue.enqueue(NewJob(kind: "broken", maxAttempts: 1))
                try await expectEventually { try await JobTable(client: client).count(.discarded) == 1 }
            }
            #expect(outer.lines == [
                "outer before fine", "outer after fine", "outer finished fine: completed",
                "outer before broken", "outer error broken: broken on purpose",
                #"outer finished broken: discarded(error: "broken on purpose")"#,
            ])
            // The inner one runs inside the outer one, around the handler.
            #expect(inner.lines.prefix(2) == ["inner before fine", "inner after fine"])
            #expect(order.withLock { $0 } == ["handler fine"])
        }
    }

    @Test func theMetricsPrefixIsConfigurable() async throws {
        let metrics = TestMetrics()
        try await withMetricsFactory(metrics) {
            try await TestDatabase.withDatabase { client, _ in
                let registry = JobRegistry()
                try await JobQueue(client: client, registry: registry, logger: silentLogger).enqueue(NewJob(kind: "noop"))
                let worker = WorkerService(client: client, registry: registry, configuration: .init(metricsPrefix: "app_"), logger: silentLogger)
                try await withRunningServices([worker]) {
                    try await expectEventually { try await JobTable(client: client).count(.completed) == 1 }
                }
            }
        }
        #expect(try metrics.expectCounter("app_jobs_completed_total", [("queue", "default"), ("kind", "noop")]).totalValue == 1)
    }
}

import DashboardAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import JobQueue
import Prometheus
import TestSupport
import Testing

/// `/readyz` of a process that runs workers (`creditops run`, `demo`) fails once a worker stops
/// claiming because too many of its handlers ignored their cancellation.
@Suite struct ReadinessTests {
    @Test func readinessFailsWhileAWorkerIsUnhealthy() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = JobRegistry()
            registry.register(JobDefinition<NoArguments>(kind: "stubborn", maxAttempts: 1, timeout: .milliseconds(100)) { _, _ in
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 60) { continuation.resume() }
                }
            })
            let worker = WorkerService(
                client: client, registry: registry,
                configuration: .init(queues: ["default": 1], pollInterval: .milliseconds(100), drainTimeout: .zero,
                                     cancellationGrace: .milliseconds(100), maxAbandonedHandlers: 1),
                logger: silentLogger)
            var server = DashboardServer(client: client, registry: registry, prometheus: PrometheusCollectorRegistry(), logger: silentLogger)
            server.workers = [worker]
            let ready = server
            try await withRunningServices([worker]) {
                try await Application(router: ready.router()).test(.router) { http in
                    try await http.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
                    try await JobQueue(client: client, registry: registry, logger: silentLogger).enqueue(NewJob(kind: "stubborn", maxAttempts: 1))
                    #expect(try await eventually(timeout: .seconds(30)) { worker.health != .healthy })
                    try await http.execute(uri: "/readyz", method: .get) { response in
                        #expect(response.status == .serviceUnavailable)
                        #expect(String(buffer: response.body).hasPrefix("worker: 1 job handlers ignored their cancellation"))
                    }
                }
            }
        }
    }
}

import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// Limits of a queue across every worker: how many of its jobs run at once, and how many start
/// per period (the gateways' quotas).
@Suite struct QueueLimitsTests {
    @Test func aConcurrencyLimitHoldsAcrossWorkers() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let running = Mutex((now: 0, peak: 0))
            let registry = JobRegistry()
            registry.register(JobDefinition<NoArguments>(kind: "slow") { _, _ in
                running.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                defer { running.withLock { $0.now -= 1 } }
                try await Task.sleep(for: .milliseconds(200))
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            try await queue.setLimits(queue: "default", concurrency: 2, rate: nil)
            try await queue.enqueue(batch: (0..<16).map { _ in NewJob(kind: "slow") })
            // Two workers of five slots each: ten could run at once without the limit.
            try await withRunningServices([fastMaintenance(client), worker(client, registry, queues: ["default": 5]),
                                           worker(client, registry, queues: ["default": 5])]) {
                try await expectEventually(timeout: .seconds(60)) { try await JobTable(client: client).count(.completed) == 16 }
            }
            #expect(running.withLock { $0.peak } == 2)
            let stats = try #require(try await queue.stats().first { $0.queue == "default" })
            #expect(stats.concurrencyLimit == 2 && stats.rateLimit == nil)
        }
    }

    @Test func aRateLimitHoldsAcrossWorkers() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = JobRegistry()
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            try await queue.setLimits(queue: "default", concurrency: nil, rate: RateLimit(starts: 5, per: .seconds(1)))
            try await queue.enqueue(batch: (0..<15).map { _ in NewJob(kind: "noop") })
            try await withRunningServices([fastMaintenance(client), worker(client, registry, queues: ["default": 10]),
                                           worker(client, registry, queues: ["default": 10])]) {
                try await expectEventually(timeout: .seconds(60)) { try await JobTable(client: client).count(.completed) == 15 }
            }
            // The windows as the limit counts them: each opens at the first start after the last one closed.
            let rows = try await client.query(
                "SELECT extract(epoch FROM attempted_at)::float8 FROM jobs ORDER BY attempted_at", logger: silentLogger)
            var starts: [Double] = []
            for try await start in rows.decode(Double.self) { starts.append(start) }
            var windows: [[Double]] = []
            for start in starts {
                if let opened = windows.last?.first, start < opened + 1 { windows[windows.count - 1].append(start) } else { windows.append([start]) }
            }
            #expect(windows.allSatisfy { $0.count <= 5 }, "starts per window: \(windows.map(\.count))")
            #expect(windows.count >= 3)
            #expect(try await queue.stats().first { $0.queue == "default" }?.rateLimit == RateLimit(starts: 5, per: .seconds(1)))
            // Lifted, the queue runs freely again.
            try await queue.setLimits(queue: "default", concurrency: nil, rate: nil)
            #expect(try await queue.stats().first { $0.queue == "default" }?.rateLimit == nil)
        }
    }

    @Test func limitsAreChecked() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let zero = await #expect(throws: QueueError.self) { try await queue.setLimits(queue: "default", concurrency: 0, rate: nil) }
            #expect(zero?.message.contains("at least 1") == true)
            #expect(RateLimit("20/1s") == RateLimit(starts: 20, per: .seconds(1)))
            #expect(RateLimit("5000/86400s")?.description == "5000/86400s")
            #expect(RateLimit("0/1s") == nil && RateLimit("5 per second") == nil)
        }
    }
}

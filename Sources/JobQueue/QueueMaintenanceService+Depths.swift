import Metrics
import PostgresNIO
import Synchronization

extension QueueMaintenanceService {
    /// Depth and the age of the oldest runnable job per queue, for dashboards and alerts; a queue
    /// that emptied reads 0, not its last depth.
    func publishDepths() async throws {
        let depth = configuration.metricsPrefix + "queue_depth", oldest = configuration.metricsPrefix + "queue_oldest_available_seconds"
        let seen = try await withDeadline(StatementDeadline.standard, "reading queue depths") { [client, logger] in
            let rows = try await client.query("""
                SELECT queue, count(*)::int8, extract(epoch FROM now() - min(run_at))::float8
                FROM jobs WHERE state = 'available' GROUP BY queue
                """, logger: logger)
            var seen = Set<String>()
            for try await (queue, count, age) in rows.decode((String, Int64, Double).self) {
                seen.insert(queue)
                Gauge(label: depth, dimensions: [("queue", queue)]).record(count)
                Gauge(label: oldest, dimensions: [("queue", queue)]).record(age)
            }
            return seen
        }
        for queue in published.withLock({ $0.subtracting(seen) }) {
            Gauge(label: depth, dimensions: [("queue", queue)]).record(0)
            Gauge(label: oldest, dimensions: [("queue", queue)]).record(0)
        }
        published.withLock { $0.formUnion(seen) }
    }
}

/// A set shared by copies of the service.
final class PublishedQueues: Sendable {
    private let queues = Mutex<Set<String>>([])

    func withLock<T>(_ body: (inout Set<String>) -> T) -> T {
        queues.withLock { body(&$0) }
    }
}

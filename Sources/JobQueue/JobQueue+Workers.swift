public import Foundation
import PostgresNIO

/// A worker process as its heartbeat row (`queue_workers`) shows it.
public struct WorkerInfo: Sendable, Hashable, Codable {
    public var id: String
    public var host: String
    public var pid: Int
    public var queues: [String]
    public var concurrency: Int
    /// Jobs it said it was running at its last heartbeat.
    public var running: Int
    public var startedAt: Date
    public var lastSeenAt: Date
    /// No heartbeat for longer than its lease: its process is probably gone (the leader removes
    /// its row later and rescues its jobs when their leases expire).
    public var stale: Bool
}

extension JobQueue {
    /// The worker processes that have sent a heartbeat, the most recently seen first.
    public func workers() async throws -> [WorkerInfo] {
        try await bounded("listing workers") {
            let rows = try await client.query("""
                SELECT id, host, pid::int8, queues, concurrency::int8, running::int8, started_at, last_seen_at,
                       last_seen_at < now() - lease_seconds * interval '1 second'
                FROM queue_workers ORDER BY last_seen_at DESC, id
                """, logger: logger)
            var workers: [WorkerInfo] = []
            for try await (id, host, pid, queues, concurrency, running, started, seen, stale) in rows.decode(
                (String, String, Int64, [String], Int64, Int64, Date, Date, Bool).self)
            {
                workers.append(WorkerInfo(id: id, host: host, pid: Int(pid), queues: queues, concurrency: Int(concurrency),
                                          running: Int(running), startedAt: started, lastSeenAt: seen, stale: stale))
            }
            return workers
        }
    }
}

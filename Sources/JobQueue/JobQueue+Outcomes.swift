public import Foundation
import PostgresNIO

/// What the workers finished, per minute or per hour, as `job_outcome_counts` keeps it.
public struct OutcomeSeries: Sendable, Hashable, Codable {
    /// How long one bucket is, and how many a series has.
    public enum Span: String, Sendable, CaseIterable, Codable {
        /// Sixty one-minute buckets, the current minute last.
        case lastHour = "hour"
        /// Twenty-four one-hour buckets, the current hour last.
        case lastDay = "day"

        var unit: String { self == .lastHour ? "minute" : "hour" }
        public var buckets: Int { self == .lastHour ? 60 : 24 }
        public var bucketSeconds: Int { self == .lastHour ? 60 : 3600 }
    }

    public var queue: String
    public var span: Span
    /// Where the first bucket starts; bucket `i` starts `i` bucket lengths later.
    public var start: Date
    /// One number per bucket, oldest first.
    public var completed: [Int]
    public var failed: [Int]
    public var discarded: [Int]

    public init(queue: String, span: Span, start: Date, completed: [Int], failed: [Int], discarded: [Int]) {
        self.queue = queue
        self.span = span
        self.start = start
        self.completed = completed
        self.failed = failed
        self.discarded = discarded
    }
}

/// How the statements that finish jobs add to `job_outcome_counts`.
enum OutcomeCounts {
    /// An upsert of the rows of `source`, a CTE with the columns `queue`, `worker`, `completed`,
    /// `failed` and `discarded` (one row per queue), into the current minute's counts.
    static func adding(from source: String) -> String {
        """
        INSERT INTO job_outcome_counts AS c (minute, queue, worker, completed, failed, discarded)
        SELECT date_trunc('minute', now()), queue, worker, completed, failed, discarded FROM \(source)
        ON CONFLICT (minute, queue, worker) DO UPDATE SET completed = c.completed + excluded.completed,
            failed = c.failed + excluded.failed, discarded = c.discarded + excluded.discarded
        """
    }

    /// Counts older than this go: the charts read a day back.
    static let retention = "interval '2 days'"
}

extension JobQueue {
    /// Jobs completed, failed (to be tried again) and discarded per minute over the last hour, or
    /// per hour over the last day, one series per queue that finished anything in that time.
    /// Reads the per-minute counts the workers keep, never the jobs table.
    public func outcomes(_ span: OutcomeSeries.Span) async throws -> [OutcomeSeries] {
        try await bounded("reading outcome counts") {
            let rows = try await client.query(
                """
                WITH first AS (SELECT date_trunc(\(span.unit), now()) - \(Double((span.buckets - 1) * span.bucketSeconds)) * interval '1 second' AS at)
                SELECT first.at, c.queue,
                       (extract(epoch FROM date_trunc(\(span.unit), c.minute) - first.at)::int8 / \(span.bucketSeconds)),
                       sum(c.completed)::int8, sum(c.failed)::int8, sum(c.discarded)::int8
                FROM first LEFT JOIN job_outcome_counts c ON c.minute >= first.at
                GROUP BY first.at, c.queue, 3 ORDER BY c.queue
                """, logger: logger)
            var series: [OutcomeSeries] = []
            let zeros = Array(repeating: 0, count: span.buckets)
            for try await (start, queue, slot, completed, failed, discarded) in rows.decode(
                (Date, String?, Int64?, Int64?, Int64?, Int64?).self)
            {
                guard let queue, let slot, (0..<Int64(span.buckets)).contains(slot) else { continue }
                if series.last?.queue != queue {
                    series.append(OutcomeSeries(queue: queue, span: span, start: start, completed: zeros, failed: zeros, discarded: zeros))
                }
                let index = series.count - 1, bucket = Int(slot)
                series[index].completed[bucket] = Int(completed ?? 0)
                series[index].failed[bucket] = Int(failed ?? 0)
                series[index].discarded[bucket] = Int(discarded ?? 0)
            }
            return series
        }
    }
}

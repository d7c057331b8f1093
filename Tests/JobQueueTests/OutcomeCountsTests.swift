import Foundation
@testable import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// The per-minute outcome counts behind `/ops`'s charts and the queues' day counts: kept by the
/// workers and the rescue as they write outcomes, pruned after two days, and the reason the
/// queues' counts never read the finished history.
@Suite struct OutcomeCountsTests {
    @Test func workersCountWhatTheyCompleteFailAndDiscard() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = JobRegistry()
            registry.register(JobDefinition<Tagged>.recording(Recorder()))
            registry.register(JobDefinition<Tagged>(kind: "steer") { args, _ in
                if args.tag == "discard" { throw JobFailure.discard("no phone number") }
                throw JobFailure.retry(after: .seconds(3600), "gateway busy")
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            try await queue.enqueue(batch: (0..<5).map { NewJob(kind: "record", argsJSON: #"{"tag": "r\#($0)"}"#) })
            try await queue.enqueue(batch: (0..<2).map { _ in NewJob(kind: "steer", argsJSON: #"{"tag": "discard"}"#, queue: "sms") })
            try await queue.enqueue(batch: (0..<3).map { _ in NewJob(kind: "steer", argsJSON: #"{"tag": "later"}"#, queue: "sms") })
            try await withRunningServices([worker(client, registry, queues: ["default": 4, "sms": 4])]) {
                try await expectEventually {
                    let table = JobTable(client: client)
                    let counts = [try await table.count(.completed), try await table.count(.discarded), try await table.count(.retryable)]
                    return counts == [5, 2, 3]
                }
            }
            for span in OutcomeSeries.Span.allCases {
                let series = try await queue.outcomes(span)
                #expect(series.map(\.queue) == ["default", "sms"])
                let totals = Dictionary(uniqueKeysWithValues: series.map { ($0.queue, Self.totals($0)) })
                #expect(totals == ["default": [5, 0, 0], "sms": [0, 3, 2]])
                for one in series {
                    #expect(one.completed.count == span.buckets)
                    // Just now: in the last bucket, or the one before when a minute or hour turned meanwhile.
                    let used = one.completed.indices.filter { one.completed[$0] > 0 || one.failed[$0] > 0 || one.discarded[$0] > 0 }
                    #expect(used.allSatisfy { $0 >= span.buckets - 2 }, "\(span): buckets \(used)")
                    let end = one.start.addingTimeInterval(Double(span.buckets * span.bucketSeconds))
                    #expect(abs(end.timeIntervalSinceNow) <= Double(span.bucketSeconds))
                }
            }
            let stats = Dictionary(uniqueKeysWithValues: try await queue.stats().map { ($0.queue, $0) })
            #expect(stats["default"]?.completed == 5)
            #expect(stats["sms"].map { [$0.completed, $0.discarded, $0.retryable] } == [0, 2, 3])
        }
    }

    @Test func theRescueCountsWhatItTakesBackAndDiscards() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await client.query("""
                INSERT INTO jobs (kind, queue, state, attempt, max_attempts, attempted_by, attempted_at, lease_expires_at)
                SELECT 'noop', 'sms', 'running', 1, CASE WHEN i <= 3 THEN 1 ELSE 5 END, 'crashed-worker',
                       now() - interval '2 minutes', now() - interval '1 minute'
                FROM generate_series(1, 7) AS i
                """, logger: silentLogger)
            let maintenance = QueueMaintenanceService(client: client, configuration: .init(), logger: silentLogger)
            #expect(try await maintenance.rescueExpired() == 7)
            let series = try await JobQueue(client: client, registry: JobRegistry(), logger: silentLogger).outcomes(.lastHour)
            #expect(series.map(\.queue) == ["sms"])
            #expect(series.map(Self.totals) == [[0, 4, 3]])
        }
    }

    @Test func thePrunerDropsCountsOlderThanTwoDays() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await client.query("""
                INSERT INTO job_outcome_counts (minute, queue, worker, completed)
                VALUES (date_trunc('minute', now()) - interval '3 days', 'default', 'w', 10),
                       (date_trunc('minute', now()) - interval '20 hours', 'default', 'w', 7)
                """, logger: silentLogger)
            try await JobPruner(client: client, logger: silentLogger).pruneOnce()
            let rows = try await client.query("SELECT completed::int8 FROM job_outcome_counts", logger: silentLogger)
            var kept: [Int64] = []
            for try await completed in rows.decode(Int64.self) { kept.append(completed) }
            #expect(kept == [7])
            let day = try await JobQueue(client: client, registry: JobRegistry(), logger: silentLogger).outcomes(.lastDay)
            #expect(day.first?.completed.reduce(0, +) == 7)
        }
    }

    /// With sequential scans priced out, a count that needed the whole table would still choose
    /// one: the plan shows it, however small the test's table.
    @Test func queueCountsReadNoFinishedHistory() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let plan = try await client.withConnection { connection in
                try await connection.query("SET enable_seqscan = off", logger: silentLogger)
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) " + QueueStatsSQL.query), logger: silentLogger)
                var text = ""
                for try await line in rows.decode(String.self) { text += line }
                try await connection.query("RESET enable_seqscan", logger: silentLogger)
                return text
            }
            let scanned = Self.seqScans(in: plan)
            #expect(!scanned.contains("unreadable plan"))
            #expect(!scanned.contains("jobs"), "the queue counts scan the jobs table: \(plan)")
        }
    }

    /// Completed, failed and discarded over the whole series.
    static func totals(_ series: OutcomeSeries) -> [Int] {
        [series.completed.reduce(0, +), series.failed.reduce(0, +), series.discarded.reduce(0, +)]
    }

    /// The relations read by sequential scans in a JSON plan.
    static func seqScans(in plan: String) -> [String] {
        guard let data = plan.data(using: .utf8), let json = try? JSONSerialization.jsonObject(with: data) else { return ["unreadable plan"] }
        var found: [String] = []
        func walk(_ node: Any) {
            if let object = node as? [String: Any] {
                if object["Node Type"] as? String == "Seq Scan" { found.append(object["Relation Name"] as? String ?? "?") }
                object.values.forEach(walk)
            } else if let array = node as? [Any] {
                array.forEach(walk)
            }
        }
        walk(json)
        return found
    }
}

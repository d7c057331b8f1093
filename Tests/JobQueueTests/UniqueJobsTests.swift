import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// Unique jobs as River's `UniqueOpts` and Graphile Worker's job keys have them: by key or by
/// arguments, within a period, over chosen states; on conflict keep, replace the arguments, or
/// push `run_at` back (debounce). Through the single and the bulk path.
@Suite struct UniqueJobsTests {
    static func args(of id: Int64, _ client: PostgresClient) async throws -> String {
        try await client.text("SELECT args::text FROM jobs WHERE id = \(id)")
    }

    @Test func byArgumentsWithinAPeriodOverChosenStates() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let daily = UniqueOptions(key: .arguments, period: .seconds(86_400))
            let first = try await queue.enqueue(NewJob(kind: "recompute", argsJSON: #"{"unit": "T01", "year": 2026}"#, unique: daily))
            // The same arguments in another order are the same job; other arguments are not.
            #expect(try await queue.enqueue(NewJob(kind: "recompute", argsJSON: #"{"year": 2026, "unit": "T01"}"#, unique: daily)) == first)
            let other = try await queue.enqueue(NewJob(kind: "recompute", argsJSON: #"{"unit": "T02", "year": 2026}"#, unique: daily))
            #expect(other != first)
            // Another kind with the same arguments is another job.
            #expect(try await queue.enqueue(NewJob(kind: "rebuild", argsJSON: #"{"unit": "T01", "year": 2026}"#, unique: daily)) != first)

            // Finished: with the pending states only, a new one may be queued; counting completed, not.
            try await client.query("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id IN (\(first), \(other))", logger: silentLogger)
            let again = try await queue.enqueue(NewJob(kind: "recompute", argsJSON: #"{"unit": "T01", "year": 2026}"#, unique: daily))
            #expect(again != first)
            var onceADay = daily
            onceADay.states = UniqueOptions.pendingStates.union([.completed])
            let twice = try await queue.enqueue(NewJob(kind: "recompute", argsJSON: #"{"unit": "T02", "year": 2026}"#, unique: onceADay))
            #expect(twice != other, "the finished job counted under the pending states only")
            #expect(try await queue.enqueue(NewJob(kind: "recompute", argsJSON: #"{"unit": "T02", "year": 2026}"#, unique: onceADay)) == twice)
            try await client.query("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = \(twice)", logger: silentLogger)
            #expect(try await queue.enqueue(NewJob(kind: "recompute", argsJSON: #"{"unit": "T02", "year": 2026}"#, unique: onceADay)) == twice,
                    "a completed job blocks another the same day when completed counts")
            #expect(try await client.integer("SELECT count(*) FROM jobs WHERE unique_key LIKE 'recompute:args:%@%'") == 4)
        }
    }

    @Test func onConflictReplaceTheArgumentsOrPushTheTime() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let later = Date().addingTimeInterval(60)
            let replace = UniqueOptions(key: .key("digest:T01"), onConflict: .replaceArgs)
            let id = try await queue.enqueue(NewJob(kind: "digest", argsJSON: #"{"items": 1}"#, runAt: later, unique: replace))
            #expect(try await queue.enqueue(NewJob(kind: "digest", argsJSON: #"{"items": 2}"#, runAt: later.addingTimeInterval(600), unique: replace)) == id)
            #expect(try await Self.args(of: id, client) == #"{"items": 2}"#)
            #expect(abs(try await queue.job(id: id).runAt.timeIntervalSince(later)) < 1, "replace keeps the time")

            // Debounce: each request pushes the queued job back.
            let debounce = UniqueOptions(key: .key("rebuild:T01"), onConflict: .pushRunAt)
            let pushed = try await queue.enqueue(NewJob(kind: "rebuild", runAt: later, unique: debounce))
            let evenLater = later.addingTimeInterval(120)
            #expect(try await queue.enqueue(NewJob(kind: "rebuild", runAt: evenLater, unique: debounce)) == pushed)
            let record = try await queue.job(id: pushed)
            #expect(abs(record.runAt.timeIntervalSince(evenLater)) < 1 && record.state == .scheduled)
            // Pushed to now, it becomes runnable.
            #expect(try await queue.enqueue(NewJob(kind: "rebuild", unique: debounce)) == pushed)
            #expect(try await queue.job(id: pushed).state == .available)

            // A running job keeps its arguments: its handler already has them.
            try await client.query("UPDATE jobs SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = 'w', lease_expires_at = now() + interval '1 minute' WHERE id = \(id)", logger: silentLogger)
            #expect(try await queue.enqueue(NewJob(kind: "digest", argsJSON: #"{"items": 3}"#, unique: replace)) == id)
            #expect(try await Self.args(of: id, client) == #"{"items": 2}"#)

            let notPending = await #expect(throws: QueueError.self) {
                try await queue.enqueue(NewJob(kind: "digest", unique: .init(key: .key("k"), states: [.completed])))
            }
            #expect(notPending?.message.contains("must include every pending state") == true)
            let replacingFinished = await #expect(throws: QueueError.self) {
                try await queue.enqueue(NewJob(kind: "digest", unique: .init(
                    key: .key("k"), states: UniqueOptions.pendingStates.union([.completed]), onConflict: .replaceArgs)))
            }
            #expect(replacingFinished?.message.contains("pending jobs only") == true)
        }
    }

    @Test func theBulkPathToo() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let byArgs = UniqueOptions(key: .arguments)
            let replace = UniqueOptions(key: .key("digest:T01"), onConflict: .replaceArgs)
            let ids = try await queue.enqueue(batch: [
                NewJob(kind: "recompute", argsJSON: #"{"unit": "T01"}"#, unique: byArgs),
                NewJob(kind: "noop"),
                NewJob(kind: "recompute", argsJSON: #"{"unit": "T01"}"#, unique: byArgs),
                NewJob(kind: "digest", argsJSON: #"{"items": 1}"#, unique: replace),
                NewJob(kind: "digest", argsJSON: #"{"items": 2}"#, unique: replace),
                NewJob(kind: "recompute", argsJSON: #"{"unit": "T02"}"#, unique: byArgs),
            ])
            #expect(ids.count == 6 && ids[0] == ids[2] && ids[3] == ids[4] && Set(ids).count == 4)
            #expect(try await Self.args(of: ids[3], client) == #"{"items": 2}"#)
            #expect(try await JobTable(client: client).count() == 4)
            // Again: every unique job is found queued.
            let again = try await queue.enqueue(batch: [
                NewJob(kind: "recompute", argsJSON: #"{"unit": "T02"}"#, unique: byArgs),
                NewJob(kind: "digest", argsJSON: #"{"items": 3}"#, unique: replace),
            ])
            #expect(again == [ids[5], ids[3]])
            #expect(try await Self.args(of: ids[3], client) == #"{"items": 3}"#)
        }
    }
}

import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

@Suite struct EnqueueTests {
    struct Rollback: Error {}

    @Test func jobInARolledBackTransactionNeverRuns() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let recorder = Recorder()
            let registry = JobRegistry()
            let record = JobDefinition<Tagged>.recording(recorder)
            registry.register(record)
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)

            await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: silentLogger) { connection in
                    try await queue.enqueue(record, Tagged(tag: "rolled back"), on: connection)
                    throw Rollback()
                }
            }
            let committed = try await client.withTransaction(logger: silentLogger) { connection in
                try await queue.enqueue(record, Tagged(tag: "committed"), on: connection)
            }
            try await withRunningServices([worker(client, registry)]) {
                try await expectEventually { try await JobTable(client: client).state(of: committed) == .completed }
            }
            #expect(recorder.tags == ["committed"])
            #expect(try await JobTable(client: client).count() == 1)
        }
    }

    @Test func uniqueKeyReturnsThePendingJob() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let first = try await queue.enqueue(NewJob(kind: "noop", uniqueKey: "nightly-2026-11-27"))
            let second = try await queue.enqueue(NewJob(kind: "noop", uniqueKey: "nightly-2026-11-27"))
            #expect(first == second)
            let batch = try await queue.enqueue(batch: [
                NewJob(kind: "noop", uniqueKey: "nightly-2026-11-27"), NewJob(kind: "noop", uniqueKey: "other"),
                NewJob(kind: "noop", uniqueKey: "other"), NewJob(kind: "noop"),
            ])
            #expect(batch[0] == first)
            #expect(batch[1] == batch[2])
            #expect(Set(batch).count == 3)
            #expect(try await JobTable(client: client).count() == 3)

            // Once the job has finished, the key may be used again.
            try await withRunningServices([worker(client, JobRegistry())]) {
                try await expectEventually { try await JobTable(client: client).state(of: first) == .completed }
            }
            let third = try await queue.enqueue(NewJob(kind: "noop", uniqueKey: "nightly-2026-11-27"))
            #expect(third != first)
        }
    }

    @Test func bulkEnqueueKeepsOrderAndSchedules() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let later = Date().addingTimeInterval(3600)
            let jobs = (0..<500).map { index in
                NewJob(kind: "noop", argsJSON: #"{"n": \#(index)}"#, priority: index % 3, runAt: index % 2 == 0 ? nil : later)
            }
            let ids = try await queue.enqueue(batch: jobs)
            #expect(ids.count == 500)
            for index in [0, 1, 250, 499] {
                let record = try await queue.job(id: ids[index])
                #expect(record.args == #"{"n": \#(index)}"#)
                #expect(record.state == (index % 2 == 0 ? .available : .scheduled))
                #expect(record.priority == index % 3)
            }
        }
    }

    @Test func badValuesAreRejectedByName() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let cases: [(NewJob, String)] = [
                (NewJob(kind: "noop", queue: "bad queue"), "queue 'bad queue' is invalid"),
                (NewJob(kind: "noop", priority: 1000), "priority 1000"),
                (NewJob(kind: "noop", maxAttempts: 0), "max attempts 0"),
                (NewJob(kind: ""), "kind must be"),
            ]
            for (job, message) in cases {
                let error = await #expect(throws: QueueError.self) { try await queue.enqueue(job) }
                #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
            }
            let count = try await JobTable(client: client).count()
            #expect(count == 0)
        }
    }

    @Test func registryNamesUnknownKindsAndBadFields() throws {
        let registry = JobRegistry()
        registry.register(JobDefinition<Tagged>.recording(Recorder()))
        let unknown = #expect(throws: QueueError.self) { try registry.validate(kind: "mystery", argsJSON: "{}") }
        #expect(unknown?.message.contains("unknown job kind 'mystery'") == true)
        let badField = #expect(throws: QueueError.self) { try registry.validate(kind: "record", argsJSON: #"{"tag": 5}"#) }
        #expect(badField?.message.contains("field 'tag' should be a string") == true)
        let missing = #expect(throws: QueueError.self) { try registry.validate(kind: "record", argsJSON: "{}") }
        #expect(missing?.message.contains("field 'tag' is missing") == true)
        let notJSON = #expect(throws: QueueError.self) { try registry.validate(kind: "record", argsJSON: "{nope") }
        #expect(notJSON?.message.contains("not valid JSON") == true)
    }
}

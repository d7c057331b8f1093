import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// A worker whose outcome cannot be written for longer than a lease (PostgreSQL refusing the
/// write, as a stalled or unreachable server looks to the worker), with the rescue running all the
/// while: a job whose handler returned is never run again, and a handler's discard holds.
///
/// The refusal is a trigger on the outcome's state change only, so that lease renewals, claims and
/// the rescue work as usual: deterministic, unlike a stall of the whole server.
@Suite struct LateOutcomeTests {
    static func refuseOutcomes(_ client: PostgresClient, states: [String]) async throws {
        try await client.query("""
            CREATE FUNCTION refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'outcome refused for the test'; END $$
            """, logger: silentLogger)
        try await client.query(PostgresQuery(unsafeSQL: """
            CREATE TRIGGER refuse_outcome BEFORE UPDATE ON jobs FOR EACH ROW
            WHEN (OLD.state = 'running' AND NEW.state::text IN (\(states.map { "'\($0)'" }.joined(separator: ", "))))
            EXECUTE FUNCTION refuse_outcome()
            """), logger: silentLogger)
    }

    static func acceptOutcomes(_ client: PostgresClient) async throws {
        try await client.query("DROP TRIGGER refuse_outcome ON jobs", logger: silentLogger)
    }

    /// Runs the worker with a 5 s lease (renewed every 1.7 s: long enough that a loaded machine,
    /// every suite running at once on 2 cores, still renews in time; a 1 s lease was not) and the
    /// rescue every 200 ms; refuses outcomes from the handler's start for 2.4 leases.
    static func runRefusing(_ client: PostgresClient, _ registry: JobRegistry, states: [String], job: Int64, recorder: Recorder,
                            until settled: @escaping @Sendable () async throws -> Bool) async throws {
        try await refuseOutcomes(client, states: states)
        let maintenance = fastMaintenance(client)
        let rescuing = Task {
            while !Task.isCancelled {
                _ = try? await maintenance.rescueExpired()
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        defer { rescuing.cancel() }
        try await withRunningServices([maintenance, worker(client, registry, lease: .seconds(5))]) {
            try await expectEventually { recorder.runs[job] == 1 }
            try await Task.sleep(for: .seconds(12))
            try await acceptOutcomes(client)
            try await expectEventually(settled)
            // A wrongly rescued job would have been claimed and run again by now (the rescue looks
            // every 200 ms, the worker polls every 200 ms).
            try await Task.sleep(for: .seconds(2))
        }
    }

    @Test func aCompletionWrittenLateDoesNotRunTheJobAgain() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let recorder = Recorder()
            let registry = JobRegistry()
            registry.register(.recording(recorder))
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "record", argsJSON: #"{"tag": "once"}"#))
            try await Self.runRefusing(client, registry, states: ["completed"], job: id, recorder: recorder) {
                try await JobTable(client: client).state(of: id) == .completed
            }
            #expect(recorder.runs[id] == 1)
            let record = try await queue.job(id: id)
            #expect(record.state == .completed && record.attempt == 1 && record.errors.isEmpty)
        }
    }

    @Test func aDiscardWrittenLateHolds() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let recorder = Recorder()
            let registry = JobRegistry()
            registry.register(JobDefinition<Tagged>(kind: "refuse", maxAttempts: 5) { _, context in
                recorder.started(context)
                recorder.ended(context)
                throw JobFailure.discard("the recipient has no phone number")
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "refuse", argsJSON: #"{"tag": "x"}"#, maxAttempts: 5))
            try await Self.runRefusing(client, registry, states: ["discarded", "retryable"], job: id, recorder: recorder) {
                try await JobTable(client: client).state(of: id) == .discarded
            }
            #expect(recorder.runs[id] == 1)
            let record = try await queue.job(id: id)
            #expect(record.state == .discarded && record.attempt == 1)
            #expect(record.errors.map(\.error) == ["the recipient has no phone number"])
        }
    }

    @Test func anErrorTextIsStoredWithoutNULBytesAndBounded() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = JobRegistry()
            registry.register(JobDefinition<Tagged>(kind: "noisy", maxAttempts: 1) { args, _ in
                throw TestFailure(description: args.tag == "nul" ? "bad\u{0}byte" : String(repeating: "ồ", count: 5000))
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let nul = try await queue.enqueue(NewJob(kind: "noisy", argsJSON: #"{"tag": "nul"}"#, maxAttempts: 1))
            let long = try await queue.enqueue(NewJob(kind: "noisy", argsJSON: #"{"tag": "long"}"#, maxAttempts: 1))
            try await withRunningServices([worker(client, registry)]) {
                try await expectEventually { try await JobTable(client: client).count(.discarded) == 2 }
            }
            #expect(try await queue.job(id: nul).errors.map(\.error) == ["badbyte"])
            let text = try #require(try await queue.job(id: long).errors.first?.error)
            #expect(text.utf8.count <= 2048 + 3 && text.hasSuffix("ồ…"))
        }
    }
}

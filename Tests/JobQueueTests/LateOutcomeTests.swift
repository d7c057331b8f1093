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

    /// Runs the worker with a 6 s lease, refusing outcomes from the handler's start. Once the
    /// refusal has lasted one and a half leases, the job must still hold a live lease (renewed
    /// after its handler returned) and a rescue must find nothing to take; then outcomes are
    /// accepted and the job settles. (A rescue looping all along, as first written, also failed
    /// now and then in a whole `swift test` even with a 15 s lease, for a reason not found yet;
    /// see the closing note of issue 18's first stop.)
    static func runRefusing(_ client: PostgresClient, _ registry: JobRegistry, states: [String], job: Int64, recorder: Recorder,
                            until settled: @escaping @Sendable () async throws -> Bool) async throws {
        try await refuseOutcomes(client, states: states)
        let maintenance = fastMaintenance(client)
        try await withRunningServices([maintenance, worker(client, registry, lease: .seconds(6))]) {
            try await expectEventually { recorder.runs[job] == 1 }
            try await Task.sleep(for: .seconds(9))
            #expect(try await client.integer("SELECT count(*) FROM jobs WHERE id = \(job) AND state = 'running' AND lease_expires_at > now()") == 1,
                    "the lease of a job whose outcome is unwritten is kept")
            #expect(try await maintenance.rescueExpired() == 0)
            try await acceptOutcomes(client)
            try await expectEventually(settled)
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

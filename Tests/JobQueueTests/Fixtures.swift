import Foundation
import JobQueue
import Logging
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// What handlers did, shared between the test and the workers.
final class Recorder: Sendable {
    private struct State {
        var runs: [Int64: Int] = [:]
        var tags: [String] = []
        var running: [String: Int] = [:]
        var peak: [String: Int] = [:]
        var startedAt: [Int64: ContinuousClock.Instant] = [:]
        var cancelled: Set<Int64> = []
    }

    private let state = Mutex(State())

    func started(_ context: JobContext, tag: String? = nil) {
        state.withLock { state in
            state.runs[context.jobID, default: 0] += 1
            if let tag { state.tags.append(tag) }
            state.startedAt[context.jobID] = .now
            state.running[context.workerID, default: 0] += 1
            state.peak[context.workerID] = max(state.peak[context.workerID] ?? 0, state.running[context.workerID]!)
        }
    }

    func ended(_ context: JobContext) {
        state.withLock { $0.running[context.workerID, default: 0] -= 1 }
    }

    func cancelled(_ id: Int64) { _ = state.withLock { $0.cancelled.insert(id) } }

    var runs: [Int64: Int] { state.withLock { $0.runs } }
    var tags: [String] { state.withLock { $0.tags } }
    var peak: [String: Int] { state.withLock { $0.peak } }
    var cancelledIDs: Set<Int64> { state.withLock { $0.cancelled } }
    func startedAt(_ id: Int64) -> ContinuousClock.Instant? { state.withLock { $0.startedAt[id] } }
}

struct Tagged: Codable, Sendable {
    var tag: String
}

struct Pause: Codable, Sendable {
    var milliseconds: Int
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

extension JobDefinition where Args == Tagged {
    static func recording(_ recorder: Recorder, kind: String = "record", maxAttempts: Int = 20) -> JobDefinition<Tagged> {
        JobDefinition(kind: kind, maxAttempts: maxAttempts) { args, context in
            recorder.started(context, tag: args.tag)
            recorder.ended(context)
        }
    }
}

extension JobDefinition where Args == Pause {
    /// Sleeps, recording its concurrency; notes when it was cancelled.
    static func pausing(_ recorder: Recorder, kind: String = "pause", timeout: Duration? = nil, maxAttempts: Int = 20) -> JobDefinition<Pause> {
        JobDefinition(kind: kind, maxAttempts: maxAttempts, timeout: timeout, retryPolicy: RetryPolicy(base: .milliseconds(50), jitter: 0)) { args, context in
            recorder.started(context)
            defer { recorder.ended(context) }
            do {
                try await Task.sleep(for: .milliseconds(args.milliseconds))
            } catch {
                recorder.cancelled(context.jobID)
                throw error
            }
        }
    }
}

/// Reads jobs back for assertions.
struct JobTable {
    let client: PostgresClient

    func count(_ state: JobState? = nil) async throws -> Int {
        let rows = try await client.query(
            "SELECT count(*)::int8 FROM jobs WHERE \(state?.rawValue)::job_state IS NULL OR state = \(state?.rawValue)::job_state",
            logger: silentLogger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    func state(of id: Int64) async throws -> JobState? {
        let rows = try await client.query("SELECT state::text FROM jobs WHERE id = \(id)", logger: silentLogger)
        for try await state in rows.decode(String.self) { return JobState(rawValue: state) }
        return nil
    }
}

func fastMaintenance(_ client: PostgresClient) -> QueueMaintenanceService {
    QueueMaintenanceService(
        client: client, configuration: .init(promoteInterval: .milliseconds(20), rescueInterval: .milliseconds(200)),
        logger: silentLogger)
}

func worker(
    _ client: PostgresClient, _ registry: JobRegistry, queues: [String: Int] = ["default": 10],
    poll: Duration = .milliseconds(200), lease: Duration = .seconds(30), drain: Duration = .seconds(5),
    cancellationGrace: Duration = .seconds(5)
) -> WorkerService {
    WorkerService(
        client: client, registry: registry,
        configuration: .init(queues: queues, pollInterval: poll, leaseDuration: lease, drainTimeout: drain,
                             cancellationGrace: cancellationGrace),
        // DEBUG_WORKER=1 swift test --filter …: the fixture workers' logs on stderr, to see why a test waits.
        logger: ProcessInfo.processInfo.environment["DEBUG_WORKER"] != nil ? Logger(label: "w") { StreamLogHandler.standardError(label: $0) } : silentLogger)
}

/// Expects `condition` to hold within `timeout`, checking every 20 ms.
func expectEventually(
    timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let held = try await eventually(timeout: timeout, condition)
    #expect(held, "condition did not hold within \(timeout)", sourceLocation: sourceLocation)
}

/// Waits until a worker's LISTEN is in place, so that a test of notifications does not race it.
func expectListening(_ client: PostgresClient, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try await expectEventually(sourceLocation: sourceLocation) {
        let rows = try await client.query(
            "SELECT count(*)::int8 FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND datname = current_database()",
            logger: silentLogger)
        for try await count in rows.decode(Int64.self) { return count > 0 }
        return false
    }
}

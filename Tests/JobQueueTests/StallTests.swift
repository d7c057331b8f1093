import Foundation
import JobQueue
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// Handlers that wait until the test lets them go, counting their starts and returns per job.
final class Gated: Sendable {
    private struct State {
        var open = false
        var starts: [Int64: [String]] = [:]
        var returns: [Int64: Int] = [:]
        var returnedAt: [Int64: ContinuousClock.Instant] = [:]
        var stopped: [Int64: Date] = [:]
    }

    private let state = Mutex(State())

    /// Lets every waiting and future handler return.
    func open() { state.withLock { $0.open = true } }

    func starts(_ id: Int64) -> [String] { state.withLock { $0.starts[id] ?? [] } }
    func returns(_ id: Int64) -> Int { state.withLock { $0.returns[id] ?? 0 } }
    func returnedAt(_ id: Int64) -> ContinuousClock.Instant? { state.withLock { $0.returnedAt[id] } }
    func stoppedAt(_ id: Int64) -> Date? { state.withLock { $0.stopped[id] } }

    /// A kind whose handler waits for ``open()`` (at most 5 minutes), then returns, or throws
    /// `failure` when one is given; a handler of `quickWorker` returns at once.
    func definition(kind: String = "gated", quickWorker: String? = nil, failure: JobFailure? = nil) -> JobDefinition<Tagged> {
        JobDefinition(kind: kind, maxAttempts: 5) { _, context in
            self.state.withLock { $0.starts[context.jobID, default: []].append(context.workerID) }
            if context.workerID != quickWorker {
                do {
                    let giveUp = ContinuousClock.now + .seconds(300)
                    while !self.state.withLock({ $0.open }), ContinuousClock.now < giveUp {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                } catch {
                    self.state.withLock { $0.stopped[context.jobID] = Date() }
                    throw error
                }
            }
            self.state.withLock { state in
                state.returns[context.jobID, default: 0] += 1
                state.returnedAt[context.jobID] = .now
            }
            if let failure { throw failure }
        }
    }
}

/// The queue when the network between a worker and PostgreSQL, or PostgreSQL itself, stalls or
/// drops connections: driven through a TCP proxy (``TCPProxy``) that holds or cuts the bytes.
///
/// On a machine loaded by a whole `swift test`, a handler may lose its lease before the test
/// stalls anything (its worker could not renew in time, and stopped it): such a job runs again,
/// rightly. So the tests count what must never happen — a handler that returned running again —
/// rather than expecting every job to run exactly once. One test at a time: they hold stalls of
/// seconds, and share the machine with every other suite.
@Suite(.serialized) struct StallTests {
    // Long enough that a loaded machine (a whole `swift test` on 2 cores) renews in time: a
    // 3 s lease was lost to load there, its handlers stopped before the test stalled anything.
    static let lease = Duration.seconds(6)

    static func stallingWorker(_ client: PostgresClient, _ registry: JobRegistry, id: String) -> WorkerService {
        WorkerService(
            client: client, registry: registry,
            configuration: .init(queues: ["default": 5], workerID: id, pollInterval: .milliseconds(100), leaseDuration: lease,
                                 cancellationGrace: .seconds(1)),
            logger: silentLogger)
    }

    /// The rescue's error: the lease or the heartbeat ran out, whichever first (both are renewed together).
    static func isRescue(of worker: String, _ error: String) -> Bool {
        ["worker \(worker) vanished: its lease expired", "worker \(worker) vanished: its heartbeat stopped"].contains(error)
    }

    static func leader(_ client: PostgresClient, id: String) -> LeaderElection {
        let maintenance = QueueMaintenanceService(
            client: client, configuration: .init(promoteInterval: .milliseconds(50), rescueInterval: .milliseconds(200)), logger: silentLogger)
        return LeaderElection(client: client, candidateID: id, duties: [maintenance.rescueDuty],
                              configuration: .init(ttl: .seconds(10), retryInterval: .milliseconds(200)), logger: silentLogger)
    }

    /// PostgreSQL unreachable for everyone (workers and leader all behind the stalled proxy) for
    /// twice the lease, while handlers return: when it comes back, the rescue sees the gap and
    /// renews the leases instead of taking the jobs, so the late completions land and no job runs
    /// again.
    @Test func jobsWhoseHandlersReturnedDuringAWholeStallRunOnce() async throws {
        try await TestDatabase.withDatabase { client, database in
            let (proxy, proxied) = try await database.throughProxy()
            let queueClient = PostgresClient(configuration: proxied, backgroundLogger: silentLogger)
            let gated = Gated()
            let registry = JobRegistry()
            registry.register(gated.definition())
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let ids = try await queue.enqueue(batch: (0..<5).map { _ in NewJob(kind: "gated", argsJSON: #"{"tag": "x"}"#, maxAttempts: 5) })
            let stall = try await withRunningServices([queueClient, Self.leader(queueClient, id: "leader"), Self.stallingWorker(queueClient, registry, id: "A")]) {
                try await expectEventually { ids.allSatisfy { !gated.starts($0).isEmpty } }
                try await Task.sleep(for: .milliseconds(500))
                proxy.stall()
                let stalledAt = ContinuousClock.now
                gated.open()
                try await Task.sleep(for: Self.lease * 2)
                let resumedAt = ContinuousClock.now
                proxy.resume()
                try await expectEventually(timeout: .seconds(90)) { try await JobTable(client: client).count(.completed) == ids.count }
                // Rescues keep running: nothing may come back.
                try await Task.sleep(for: Self.lease)
                return stalledAt..<resumedAt
            }
            await proxy.stop()
            let returnedDuringTheStall = ids.filter { gated.returnedAt($0).map(stall.contains) == true }
            #expect(!returnedDuringTheStall.isEmpty, "no handler returned while PostgreSQL was away")
            for id in ids {
                #expect(gated.returns(id) == 1, "job \(id): its handler returned \(gated.returns(id)) times")
                #expect(try await queue.job(id: id).state == .completed)
            }
            for id in returnedDuringTheStall {
                let record = try await queue.job(id: id)
                #expect(record.attempt == 1 && record.errors.isEmpty, "\(record)")
            }
        }
    }

    /// One worker cut off (only its connections stall) for longer than its lease: it stops the
    /// handler before its lease runs out; the leader rescues the job and another worker completes
    /// it; when the first worker's connection comes back, its late failure record changes nothing.
    @Test func aWorkerCutOffLosesItsJobAndItsLateFailureChangesNothing() async throws {
        try await TestDatabase.withDatabase { client, database in
            let (proxy, proxied) = try await database.throughProxy()
            let queueClient = PostgresClient(configuration: proxied, backgroundLogger: silentLogger)
            let gated = Gated()
            let registry = JobRegistry()
            registry.register(gated.definition(quickWorker: "B"))
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "gated", argsJSON: #"{"tag": "x"}"#, maxAttempts: 5))
            try await withRunningServices([queueClient, Self.stallingWorker(queueClient, registry, id: "A")]) {
                try await expectEventually { gated.starts(id) == ["A"] }
                proxy.stall()
                try await withRunningServices([Self.leader(client, id: "leader"), Self.stallingWorker(client, registry, id: "B")]) {
                    try await expectEventually(timeout: .seconds(90)) { try await JobTable(client: client).state(of: id) == .completed }
                }
                let stopped = try #require(gated.stoppedAt(id), "worker A stopped its handler")
                let rescue = try await queue.job(id: id).errors.first { Self.isRescue(of: "A", $0.error) }
                #expect(stopped < (rescue?.at ?? .distantFuture), "A stopped at \(stopped), before the rescue at \(String(describing: rescue?.at))")
                proxy.resume()
                // A's failure record ("could not renew") is written now, and must change nothing.
                try await Task.sleep(for: .seconds(2))
            }
            await proxy.stop()
            let record = try await queue.job(id: id)
            #expect(record.state == .completed && record.attemptedBy == "B" && gated.returns(id) == 1, "\(record)")
            // Every earlier attempt was A's, ended by the rescue (or, under load, by A itself before the stall).
            #expect(record.errors.count == record.attempt - 1)
            #expect(record.errors.allSatisfy {
                Self.isRescue(of: "A", $0.error) || $0.error.hasPrefix("stopped: the worker could not renew")
            }, "\(record.errors)")
        }
    }

    /// A worker whose handler returned while it was cut off writes its completion late, after the
    /// rescue gave the job to another worker that discarded it: the stale completion is fenced
    /// out by (id, attempt, state) and the discard stands.
    @Test func aStaleCompletionDoesNotOverwriteTheNextAttempt() async throws {
        try await TestDatabase.withDatabase { client, database in
            let (proxy, proxied) = try await database.throughProxy()
            let queueClient = PostgresClient(configuration: proxied, backgroundLogger: silentLogger)
            let gatedA = Gated()
            let registryA = JobRegistry()
            registryA.register(gatedA.definition())
            let registryB = JobRegistry()
            registryB.register(Gated().definition(quickWorker: "B", failure: .discard("B refused it")))
            let queue = JobQueue(client: client, registry: registryA, logger: silentLogger)
            let id = try await queue.enqueue(NewJob(kind: "gated", argsJSON: #"{"tag": "x"}"#, maxAttempts: 5))
            try await withRunningServices([queueClient, Self.stallingWorker(queueClient, registryA, id: "A")]) {
                try await expectEventually { gatedA.starts(id) == ["A"] }
                proxy.stall()
                gatedA.open()
                try await expectEventually { gatedA.returns(id) == 1 }
                try await withRunningServices([Self.leader(client, id: "leader"), Self.stallingWorker(client, registryB, id: "B")]) {
                    try await expectEventually(timeout: .seconds(90)) { try await JobTable(client: client).state(of: id) == .discarded }
                }
                proxy.resume()
                try await Task.sleep(for: .seconds(2))
            }
            await proxy.stop()
            let record = try await queue.job(id: id)
            #expect(record.state == .discarded && record.attempt == 2, "\(record)")
            #expect(record.errors.map(\.error).last == "B refused it" && record.errors.count == 2, "\(record.errors)")
            #expect(record.errors.first.map { Self.isRescue(of: "A", $0.error) } == true)
        }
    }

    /// Every connection cut while completions are on their way: they are written over new
    /// connections, and no job runs twice.
    @Test func completionsCutOffOnTheWayAreWrittenOnce() async throws {
        try await TestDatabase.withDatabase { client, database in
            let (proxy, proxied) = try await database.throughProxy()
            let queueClient = PostgresClient(configuration: proxied, backgroundLogger: silentLogger)
            let gated = Gated()
            let registry = JobRegistry()
            registry.register(gated.definition())
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let ids = try await queue.enqueue(batch: (0..<5).map { _ in NewJob(kind: "gated", argsJSON: #"{"tag": "x"}"#, maxAttempts: 5) })
            try await withRunningServices([queueClient, Self.leader(client, id: "leader"), Self.stallingWorker(queueClient, registry, id: "A")]) {
                try await expectEventually { ids.allSatisfy { !gated.starts($0).isEmpty } }
                proxy.stall()
                gated.open()
                try await Task.sleep(for: .milliseconds(300))
                proxy.cut()
                proxy.resume()
                try await expectEventually(timeout: .seconds(90)) { try await JobTable(client: client).count(.completed) == ids.count }
            }
            await proxy.stop()
            for id in ids { #expect(gated.returns(id) == 1, "job \(id): its handler returned \(gated.returns(id)) times") }
        }
    }

    /// PostgreSQL stalled under a listening worker, which is then told to stop: every statement it
    /// still sends waits for an answer that does not come. It must still stop, within its own
    /// statements' deadlines (signing off is the longest, 15 s), whatever its LISTEN connection
    /// is waiting for.
    @Test func aListeningWorkerStopsWhilePostgreSQLIsStalled() async throws {
        try await TestDatabase.withDatabase { client, database in
            let (proxy, proxied) = try await database.throughProxy()
            let queueClient = PostgresClient(configuration: proxied, backgroundLogger: silentLogger)
            let gated = Gated()
            gated.open()
            let registry = JobRegistry()
            registry.register(gated.definition())
            let worker = WorkerService(
                client: queueClient, registry: registry,
                configuration: .init(queues: ["default": 5], workerID: "A", pollInterval: .seconds(30), leaseDuration: Self.lease),
                logger: silentLogger)
            #expect(worker.configuration.listens)
            let group = ServiceGroup(configuration: .init(services: [queueClient, worker], gracefulShutdownSignals: [], logger: silentLogger))
            let running = Task { try await group.run() }
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            // Found through LISTEN: the fallback poll is 30 s away.
            let id = try await queue.enqueue(NewJob(kind: "gated", argsJSON: #"{"tag": "x"}"#))
            try await expectEventually(timeout: .seconds(20)) { try await queue.job(id: id).state == .completed }
            proxy.stall()
            await group.triggerGracefulShutdown()
            let stopped = try? await withinTimeLimit(.seconds(40), "stopping a worker while PostgreSQL is stalled") {
                try await running.value
            }
            #expect(stopped != nil, "the worker was still stopping 40 s after it was told to")
            proxy.resume()
            await proxy.stop()
            _ = try? await withinTimeLimit(.seconds(20), "the stalled worker's last steps") { try await running.value }
        }
    }
}

public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Foundation
import Synchronization

/// Runs jobs: claims them from its queues in batches sized to its free slots, runs their
/// handlers up to each queue's concurrency, and records the outcome.
///
/// - Wake-ups: a `LISTEN` starts a committed job within a round trip; a poll every
///   ``Configuration/pollInterval`` bounds the delay if a notification is ever missed.
/// - Leases and heartbeat: each claimed job holds a lease that this worker extends while it runs,
///   in the same statement as the worker's heartbeat in `queue_workers`. If the process dies, both
///   run out and the leader's rescue makes the job runnable again. If the worker cannot renew
///   (PostgreSQL slow or away), it stops the handler before the lease can run out.
/// - Shutdown: on graceful shutdown it stops claiming, lets running jobs finish within
///   ``Configuration/drainTimeout``, then cancels the rest and gives them back without counting
///   the attempt.
///
/// The files `WorkerService+Running`, `+Leases` and `+Listening` hold the rest of the type.
///
/// > Warning: The `PostgresClient` must run for as long as this service runs: put it before the
/// > worker in the `ServiceGroup`, so that it shuts down after it.
public final class WorkerService: Service, Sendable {
    /// How a worker claims and runs jobs.
    public struct Configuration: Sendable {
        /// The queues to work and the number of jobs each may run at once. Default: `["default": 10]`.
        public var queues: [String: Int]
        /// The id recorded as `attempted_by`. Default: host name, process id and a random suffix.
        public var workerID: String
        /// The most jobs one claim takes. Default: 100.
        public var maxBatchSize: Int
        /// How long after a full claim of a queue came back a claim for fewer free slots than a
        /// full batch waits for more to free up. Without it, a busy worker claims again the moment the
        /// jobs it just started still hold their slots, and its claims settle at half a batch:
        /// twice the round trips for the same jobs. Default: 5 milliseconds.
        public var claimCooldown: Duration
        /// The longest an idle worker waits before looking for jobs without a notification. Default: 1 second.
        public var pollInterval: Duration
        /// How long a claimed job is ours without renewal; renewed every third of it. Default: 30 seconds.
        public var leaseDuration: Duration
        /// How long a graceful shutdown waits for running jobs before cancelling them. Default: 30 seconds.
        public var drainTimeout: Duration
        /// How long a cancelled handler (time-out, cancellation, lost lease, shutdown) may take to
        /// end before the worker stops waiting for it and records the attempt. Default: 5 seconds.
        public var cancellationGrace: Duration
        /// How many handlers that ignored their cancellation may still be running before the
        /// worker stops claiming and reports itself unhealthy (``WorkerService/health``): each
        /// holds memory and perhaps a connection that the process may never get back. Default: 10.
        public var maxAbandonedHandlers: Int
        /// Code run around every job, outermost first (``JobMiddleware``); the queue's metrics
        /// always run outside it. Default: none.
        public var middleware: [any JobMiddleware]
        /// Starts the name of every metric the worker records. Default: `jobqueue_`.
        public var metricsPrefix: String
        /// Whether to `LISTEN` for new jobs and cancellations. Off for a server reached through a
        /// pooler in transaction mode (PgBouncer), where LISTEN cannot work: the worker then polls
        /// every ``pollInterval``, and a cancelled job is stopped at its next lease renewal. Default: true.
        public var listens: Bool

        /// Creates a configuration; every parameter has the default stated on its property.
        public init(
            queues: [String: Int] = ["default": 10],
            workerID: String = WorkerService.defaultWorkerID(),
            maxBatchSize: Int = 100,
            claimCooldown: Duration = .milliseconds(5),
            pollInterval: Duration = .seconds(1),
            leaseDuration: Duration = .seconds(30),
            drainTimeout: Duration = .seconds(30),
            cancellationGrace: Duration = .seconds(5),
            maxAbandonedHandlers: Int = 10,
            middleware: [any JobMiddleware] = [],
            metricsPrefix: String = "jobqueue_",
            listens: Bool = true
        ) {
            self.middleware = middleware
            self.metricsPrefix = metricsPrefix
            self.queues = queues
            self.workerID = workerID
            self.maxBatchSize = maxBatchSize
            self.claimCooldown = claimCooldown
            self.pollInterval = pollInterval
            self.leaseDuration = leaseDuration
            self.drainTimeout = drainTimeout
            self.cancellationGrace = cancellationGrace
            self.maxAbandonedHandlers = maxAbandonedHandlers
            self.listens = listens
        }
    }

    /// Whether a worker is fit to take work, for a readiness probe.
    public enum Health: Sendable, Equatable {
        case healthy
        /// It stopped claiming; the text says why.
        case unhealthy(String)
    }

    /// `host:pid:random`, unique per process start.
    public static func defaultWorkerID() -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(host):\(ProcessInfo.processInfo.processIdentifier):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// The configuration in force.
    public let configuration: Configuration
    let registry: JobRegistry
    let store: WorkerStore
    let logger: Logger
    let metrics: QueueMetrics
    /// The metrics, then the configured middleware.
    let middleware: [any JobMiddleware]
    let state: Mutex<WorkerState>
    private let wakeups: AsyncStream<Void>
    let wake: AsyncStream<Void>.Continuation
    let completions: CompletionBatcher

    /// Creates the worker; nothing runs until `run()`.
    public init(client: PostgresClient, registry: JobRegistry, configuration: Configuration = .init(), logger: Logger) {
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerID)"
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        metrics = QueueMetrics(prefix: configuration.metricsPrefix)
        middleware = [metrics] + configuration.middleware
        self.store = WorkerStore(client: client, workerID: configuration.workerID, logger: logger)
        self.state = Mutex(WorkerState(
            concurrency: configuration.queues, maxAbandoned: configuration.maxAbandonedHandlers, claimCooldown: configuration.claimCooldown))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        completions = CompletionBatcher(store: store, logger: logger)
    }

    /// The most jobs that ran at once in each queue since start, for tests and benchmarks.
    public var peakRunning: [String: Int] { state.withLock { $0.peak } }

    /// Unhealthy once ``Configuration/maxAbandonedHandlers`` handlers ignored their cancellation
    /// and still run: the worker then claims nothing more. Serve it on a readiness probe, so that
    /// the process is restarted.
    public var health: Health {
        let abandoned = state.withLock { $0.abandoned }
        guard abandoned >= configuration.maxAbandonedHandlers else { return .healthy }
        return .unhealthy("\(abandoned) job handlers ignored their cancellation and still run; claiming stopped: restart this worker")
    }

    /// How long shutdown waits for the LISTEN connection to close before leaving it behind.
    static let listenerGrace = Duration.seconds(2)

    public func run() async throws {
        logger.info("Worker starting", metadata: ["worker.queues": "\(configuration.queues)"])
        // Before the first claim: a limited queue must never be claimed as if it were not, and a
        // row left by an earlier process with this id must not make the new one look silent.
        await refreshLimits()
        _ = try? await store.heartbeat(heartbeat(running: 0), extending: [], lease: configuration.leaseDuration)
        // Not a child task, so that shutdown need not wait for it: should a statement of its ever
        // hang (a query on a connection that has just closed never returns, RELIABILITY.md), the
        // worker still stops. It is cancelled after the outcomes are written, as before.
        let listener = configuration.listens ? Task { await self.listen() } : nil
        defer { listener?.cancel() }
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { background in
                background.addTask { await self.poll() }
                background.addTask { await self.supervise() }
                background.addTask { await self.renewLeases() }
                await withTaskGroup(of: Void.self) { bookkeeping in
                    bookkeeping.addTask { await self.completions.run() }
                    await withDiscardingTaskGroup { jobs in
                        await self.claimLoop { job in jobs.addTask { await self.execute(job) } }
                        await self.drain()
                    }
                    // Leaving this group waits until the last completions and releases are written:
                    // only then are the lease renewals (and, after them, the listener) cancelled.
                    await completions.finish()
                }
                background.cancelAll()
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.shuttingDown = true }
            self.wake.yield()
        }
        if let listener {
            listener.cancel()
            if (try? await withDeadline(Self.listenerGrace, "stopping the listener") { await listener.value }) == nil {
                logger.warning("The LISTEN connection did not close within \(Self.listenerGrace) of shutdown; leaving it behind")
            }
        }
        await signOff()
        logger.info("Worker stopped")
    }

    // MARK: - Claiming

    private func claimLoop(start: (RunningJob) -> Void) async {
        var failures = 0
        var deferredWake: (at: ContinuousClock.Instant, timer: Task<Void, Never>)?
        defer { deferredWake?.timer.cancel() }
        wake.yield()
        for await _ in wakeups {
            if state.withLock({ $0.shuttingDown }) { return }
            defer {
                // One timer at a time, for the earliest claim the cooldown put off.
                if let at = state.withLock({ $0.takeDeferredClaim() }), deferredWake.map({ $0.at <= .now || $0.at > at }) ?? true {
                    deferredWake?.timer.cancel()
                    deferredWake = (at, Task { [wake] in
                        guard (try? await Task.sleep(until: at, clock: .continuous)) != nil else { return }
                        wake.yield()
                    })
                }
            }
            for queue in configuration.queues.keys.sorted() {
                let reserved = state.withLock { $0.reserve(queue: queue, maxBatch: configuration.maxBatchSize) }
                guard reserved > 0 else { continue }
                do {
                    let asked = ContinuousClock.now
                    let limited = state.withLock { $0.limitedQueues.contains(queue) }
                    let claimed = try await store.claim(queue: queue, limit: reserved, lease: configuration.leaseDuration, limited: limited)
                    failures = 0
                    let started = state.withLock { state in
                        state.claimed(queue: queue, reserved: reserved, got: claimed.count)
                        return claimed.map { job in
                            let running = RunningJob(job: job, definition: registry[job.kind], heldUntil: asked + configuration.leaseDuration)
                            state.started(running)
                            return running
                        }
                    }
                    started.forEach(start)
                } catch {
                    state.withLock { $0.claimed(queue: queue, reserved: reserved, got: 0) }
                    failures += 1
                    logger.warning("Claiming jobs failed; retrying", metadata: ["queue.name": "\(queue)", "error": "\(String(reflecting: error))"])
                    // Back off (bounded) while the database is away, then look again.
                    try? await Task.sleep(for: ReconnectBackoff.delay(afterFailures: failures))
                    wake.yield()
                }
            }
        }
    }

    /// Waits for running jobs to finish within the drain time, then stops the rest.
    private func drain() async {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while ContinuousClock.now < deadline, state.withLock({ !$0.running.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = state.withLock { Array($0.running.values) }
        if !remaining.isEmpty {
            logger.info("Drain time over; cancelling running jobs", metadata: ["jobs.count": "\(remaining.count)"])
        }
        for job in remaining { job.stop(.shutdown) }
    }

    /// Leaves `queue_workers` once every outcome is written; with outcomes unwritten the row stays,
    /// its heartbeat goes stale, and the rescue takes those jobs after a lease.
    private func signOff() async {
        guard completions.unwritten.isEmpty else { return }
        do {
            try await store.signOff()
        } catch {
            logger.info("Could not remove this worker from queue_workers; the leader removes it later",
                        metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}

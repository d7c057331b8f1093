public import Logging
public import PostgresNIO
public import ServiceLifecycle
import CoreMetrics
import Foundation
import Synchronization

/// Runs jobs: claims them from its queues in batches sized to its free slots, runs their
/// handlers up to each queue's concurrency, and records the outcome.
///
/// - Wake-ups: a `LISTEN` on `creditops_jobs` starts a committed job within a round trip; a poll
///   every ``Configuration/pollInterval`` bounds the delay if a notification is ever missed.
/// - Leases: each claimed job holds a lease that this worker extends while it runs. If the
///   process dies, the lease runs out and ``QueueMaintenanceService`` makes the job runnable again.
/// - Shutdown: on graceful shutdown it stops claiming, lets running jobs finish within
///   ``Configuration/drainTimeout``, then cancels the rest and gives them back without counting
///   the attempt.
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
        /// The longest an idle worker waits before looking for jobs without a notification. Default: 1 second.
        public var pollInterval: Duration
        /// How long a claimed job is ours without renewal; renewed every third of it. Default: 30 seconds.
        public var leaseDuration: Duration
        /// How long a graceful shutdown waits for running jobs before cancelling them. Default: 30 seconds.
        public var drainTimeout: Duration
        /// How long a cancelled handler (time-out, cancellation, lost lease, shutdown) may take to
        /// end before the worker stops waiting for it and records the attempt. Default: 5 seconds.
        public var cancellationGrace: Duration

        /// Creates a configuration; every parameter has the default stated on its property.
        public init(
            queues: [String: Int] = ["default": 10],
            workerID: String = WorkerService.defaultWorkerID(),
            maxBatchSize: Int = 100,
            pollInterval: Duration = .seconds(1),
            leaseDuration: Duration = .seconds(30),
            drainTimeout: Duration = .seconds(30),
            cancellationGrace: Duration = .seconds(5)
        ) {
            self.queues = queues
            self.workerID = workerID
            self.maxBatchSize = maxBatchSize
            self.pollInterval = pollInterval
            self.leaseDuration = leaseDuration
            self.drainTimeout = drainTimeout
            self.cancellationGrace = cancellationGrace
        }
    }

    /// `host:pid:random`, unique per process start.
    public static func defaultWorkerID() -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(host):\(ProcessInfo.processInfo.processIdentifier):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// The configuration in force.
    public let configuration: Configuration
    private let registry: JobRegistry
    private let store: WorkerStore
    private let logger: Logger
    private let metrics = QueueMetrics()
    private let state: Mutex<WorkerState>
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let completions: CompletionBatcher

    /// Creates the worker; nothing runs until `run()`.
    public init(client: PostgresClient, registry: JobRegistry, configuration: Configuration = .init(), logger: Logger) {
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerID)"
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        self.store = WorkerStore(client: client, workerID: configuration.workerID, logger: logger)
        self.state = Mutex(WorkerState(concurrency: configuration.queues))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        completions = CompletionBatcher(store: store, logger: logger)
    }

    /// The most jobs that ran at once in each queue since start, for tests and benchmarks.
    public var peakRunning: [String: Int] { state.withLock { $0.peak } }

    public func run() async throws {
        logger.info("Worker starting", metadata: ["worker.queues": "\(configuration.queues)"])
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { background in
                background.addTask { await self.listen() }
                background.addTask { await self.poll() }
                background.addTask { await self.supervise() }
                await withTaskGroup(of: Void.self) { bookkeeping in
                    bookkeeping.addTask { await self.completions.run() }
                    await withDiscardingTaskGroup { jobs in
                        await self.claimLoop { job in jobs.addTask { await self.execute(job) } }
                        await self.drain()
                    }
                    // Leaving this group waits until the last completions and releases are written:
                    // only then are the listener and the lease renewals cancelled.
                    await completions.finish()
                }
                background.cancelAll()
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.shuttingDown = true }
            self.wake.yield()
        }
        logger.info("Worker stopped")
    }

    // MARK: - Claiming

    private func claimLoop(start: (RunningJob) -> Void) async {
        var failures = 0
        wake.yield()
        for await _ in wakeups {
            if state.withLock({ $0.shuttingDown }) { return }
            for queue in configuration.queues.keys.sorted() {
                let reserved = state.withLock { $0.reserve(queue: queue, maxBatch: configuration.maxBatchSize) }
                guard reserved > 0 else { continue }
                do {
                    let asked = ContinuousClock.now
                    let claimed = try await store.claim(queue: queue, limit: reserved, lease: configuration.leaseDuration)
                    failures = 0
                    let started = state.withLock { state in
                        state.claimed(queue: queue, reserved: reserved, got: claimed.count)
                        return claimed.map { job in
                            let running = RunningJob(job: job, definition: registry[job.kind], heldUntil: asked + configuration.leaseDuration)
                            state.running[job.id] = running
                            return running
                        }
                    }
                    started.forEach(start)
                } catch {
                    state.withLock { $0.claimed(queue: queue, reserved: reserved, got: 0) }
                    failures += 1
                    logger.warning("Claiming jobs failed; retrying", metadata: ["queue.name": "\(queue)", "error": "\(String(reflecting: error))"])
                    // Back off (bounded) while the database is away, then look again.
                    try? await Task.sleep(for: .milliseconds(min(100 << min(failures, 5), 3000)))
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

    // MARK: - Running one job

    private enum Outcome: Sendable {
        case succeeded
        case failed(any Error)
        case stopped(StopReason)
    }

    private func execute(_ running: RunningJob) async {
        let job = running.job
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(job.id)"
        logger[metadataKey: "job.kind"] = "\(job.kind)"
        logger[metadataKey: "job.attempt"] = "\(job.attempt)"
        logger[metadataKey: "queue.name"] = "\(job.queue)"
        let instruments = metrics.instruments(queue: job.queue, kind: job.kind)
        instruments.started.increment()
        metrics.queueWait(queue: job.queue).recordSeconds(job.queueWaitSeconds)
        let context = JobContext(
            jobID: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, maxAttempts: job.maxAttempts,
            workerID: configuration.workerID, logger: logger)
        let definition = running.definition
        let startedAt = ContinuousClock.now

        let outcome: Outcome
        if let definition {
            outcome = await run(definition, running, context: context, logger: logger)
        } else {
            outcome = .failed(QueueError(
                .unknownKind, jobID: job.id,
                "unknown job kind '\(job.kind)': no handler is registered for it on worker \(configuration.workerID)"))
        }
        instruments.runTime.recordNanoseconds((ContinuousClock.now - startedAt).nanoseconds)
        let attempt = JobAttempt(id: job.id, attempt: job.attempt)

        switch outcome {
        case .succeeded:
            instruments.completed.increment()
            completions.complete(attempt)
        case .failed(let error):
            recordFailure(job, attempt: attempt, error: error, definition: definition, logger: logger, instruments: instruments)
        case .stopped(.timedOut(let limit)):
            let error = QueueError(.timedOut, jobID: job.id, "timed out after \(limit)")
            recordFailure(job, attempt: attempt, error: error, definition: definition, logger: logger, instruments: instruments)
        case .stopped(.shutdown):
            completions.release(attempt)
        case .stopped(.cancelled), .stopped(.leaseLost):
            logger.debug("Job stopped: no longer ours")
        }
        state.withLock { $0.finished(queue: job.queue, id: job.id) }
        wake.yield()
    }

    /// Runs the handler until it returns or the job is stopped. A stopped handler is cancelled and
    /// given ``Configuration/cancellationGrace`` to end; one that ignores its cancellation (a
    /// driver call that never returns, say) is left behind, so that it cannot hold its job, its
    /// slot or the worker's shutdown forever.
    private func run(_ definition: AnyJobDefinition, _ running: RunningJob, context: JobContext, logger: Logger) async -> Outcome {
        let first = FirstOutcome<Outcome>()
        // Unstructured on purpose: a structured child would have to be awaited, however long it hangs.
        let handler = Task {
            do {
                try await definition.run(running.job.argsJSON, context)
                first.offer(.succeeded)
            } catch {
                first.offer(.failed(error))
            }
        }
        running.onStop { first.offer(.stopped($0)) }
        // The handler no longer inherits this task's cancellation: pass it on as a shutdown.
        let outcome = await withTaskCancellationHandler {
            await first.value()
        } onCancel: {
            running.stop(.shutdown)
        }
        guard case .stopped(let reason) = outcome else {
            running.finish()
            return outcome
        }
        handler.cancel()
        do {
            try await withDeadline(configuration.cancellationGrace, "waiting for a cancelled handler") { await handler.value }
        } catch {
            metrics.instruments(queue: running.job.queue, kind: running.job.kind).abandoned.increment()
            logger.warning("Handler still running \(configuration.cancellationGrace) after it was cancelled; leaving it behind",
                           metadata: ["job.stop_reason": "\(reason)"])
        }
        return outcome
    }

    private func recordFailure(
        _ job: ClaimedJob, attempt: JobAttempt, error: any Error, definition: AnyJobDefinition?, logger: Logger,
        instruments: QueueMetrics.Instruments
    ) {
        let policy = definition?.retryPolicy ?? RetryPolicy()
        let retryAfter: Duration?
        let message: String
        switch error {
        case let failure as JobFailure:
            message = failure.reason
            switch failure.action {
            case .discard: retryAfter = nil
            case .retry(let delay): retryAfter = job.attempt < job.maxAttempts ? delay : nil
            }
        default:
            message = (error as? QueueError)?.message ?? String(describing: error)
            retryAfter = job.attempt < job.maxAttempts ? policy.delay(afterAttempt: job.attempt) : nil
        }
        if retryAfter == nil { instruments.discarded.increment() } else { instruments.failed.increment() }
        logger.debug("Job failed", metadata: ["error": "\(message)", "job.retry_in": "\(retryAfter.map { "\($0)" } ?? "never")"])
        // Through the same retried path as completions: written however late, its lease renewed
        // until then, so that a rescue never skips the backoff or undoes a discard.
        completions.fail(attempt, error: Self.storable(message), retryAfter: retryAfter)
    }

    /// An error text PostgreSQL will store: no NUL byte (text cannot hold one, and a write that
    /// always fails would hold up every outcome behind it) and at most 2 KB.
    static func storable(_ message: String) -> String {
        var text = message.replacingOccurrences(of: "\u{0}", with: "")
        if text.utf8.count > 2048 {
            text = String(decoding: text.utf8.prefix(2048), as: UTF8.self)
            // A cut inside a character leaves a replacement mark: drop it.
            while text.last == "\u{FFFD}" { text.removeLast() }
            text += "…"
        }
        return text
    }

    // MARK: - Background loops

    /// LISTEN for new jobs and cancellations; reconnects with a bounded backoff.
    private func listen() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await store.client.withConnection { connection in
                    try await connection.listen(on: "creditops_jobs") { notifications in
                        failures = 0
                        // Anything committed while we were not listening is found by this claim, and a
                        // cancellation we missed by the next lease renewal, which we bring forward.
                        self.state.withLock { state in
                            state.markAllHaveWork()
                            state.renewLeasesNow = true
                        }
                        self.wake.yield()
                        for try await notification in notifications {
                            self.handle(notification: notification.payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.warning("Listening for jobs failed; reconnecting", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: .milliseconds(min(100 << min(failures, 5), 3000)))
        }
    }

    private func handle(notification payload: String) {
        if payload.hasPrefix("cancel ") {
            guard let id = Int64(payload.dropFirst("cancel ".count)) else { return }
            if let job = state.withLock({ $0.running[id] }), job.stop(.cancelled) {
                logger.info("Job cancelled while running", metadata: ["job.id": "\(id)"])
            }
            return
        }
        if state.withLock({ $0.markHasWork(queue: payload) }) { wake.yield() }
    }

    /// The fallback poll: a missed notification delays a job by at most one interval.
    private func poll() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.pollInterval)
            state.withLock { $0.markAllHaveWork() }
            wake.yield()
        }
    }

    /// Enforces time-outs (checked every 100 ms) and renews leases (every third of a lease): of the
    /// jobs running, and of those whose outcome is not written yet. A handler whose lease could not
    /// be renewed (PostgreSQL slow or away) is stopped a margin before the lease can run out, so
    /// that it never runs on while the rescue hands its job to another worker.
    private func supervise() async {
        let tick = Duration.milliseconds(100)
        let margin = min(configuration.leaseDuration / 4, .seconds(5))
        var untilRenewal = configuration.leaseDuration / 3
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let running = state.withLock { Array($0.running.values) }
            for job in running {
                if let deadline = job.deadline, deadline <= now, let timeout = job.definition?.timeout {
                    job.stop(.timedOut(timeout))
                }
                if now >= job.heldUntil - margin, job.stop(.leaseLost) {
                    logger.warning("Could not renew the job's lease in time; stopping its handler before another worker may take the job",
                                   metadata: ["job.id": "\(job.job.id)"])
                }
            }
            untilRenewal -= tick
            let renewNow = state.withLock { state in
                defer { state.renewLeasesNow = false }
                return state.renewLeasesNow
            }
            guard untilRenewal <= .zero || renewNow else { continue }
            untilRenewal = configuration.leaseDuration / 3
            let runningAttempts = running.map { JobAttempt(id: $0.job.id, attempt: $0.job.attempt) }
            let held = Array(Set(runningAttempts + completions.unwritten))
            guard !held.isEmpty else { continue }
            do {
                let asked = ContinuousClock.now
                let lost = try await store.extendLeases(held, lease: configuration.leaseDuration)
                for job in running {
                    if !lost.contains(job.job.id) {
                        job.renewed(until: asked + configuration.leaseDuration)
                    } else if job.stop(.leaseLost) {
                        logger.info("Job no longer ours (cancelled or rescued); stopping it", metadata: ["job.id": "\(job.job.id)"])
                    }
                }
            } catch {
                logger.warning("Renewing leases failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                untilRenewal = .seconds(1)
            }
        }
    }
}

/// The worker's bookkeeping, always changed under its lock. A pure value, so that its rules are
/// tested without a database.
package struct WorkerState: Sendable {
    let concurrency: [String: Int]
    package var inFlight: [String: Int] = [:]
    package var peak: [String: Int] = [:]
    /// Queues that may have runnable jobs: a claim that came back short clears the flag until a
    /// notification or the poll sets it again, so freed slots do not cause empty claims.
    package var hasWork: Set<String>
    /// Counts the notifications (and polls) of each queue. A claim that comes back short clears
    /// `hasWork` only if none arrived while it was in flight: the job that notification announced
    /// may have committed after the claim's snapshot, and must not wait for the next poll.
    private var wakeups: [String: Int] = [:]
    private var wakeupsAtReservation: [String: Int] = [:]
    var running: [Int64: RunningJob] = [:]
    var shuttingDown = false
    /// Set when the listener (re)connects: a cancellation sent while it was away is caught by
    /// renewing the leases at once (a cancelled job's lease cannot be renewed).
    var renewLeasesNow = false

    package init(concurrency: [String: Int]) {
        self.concurrency = concurrency
        self.hasWork = Set(concurrency.keys)
    }

    /// Reserves the slots a claim may fill; 0 when the queue is full or known to be empty.
    package mutating func reserve(queue: String, maxBatch: Int) -> Int {
        guard !shuttingDown, hasWork.contains(queue) else { return 0 }
        let free = (concurrency[queue] ?? 0) - (inFlight[queue] ?? 0)
        let count = min(free, maxBatch)
        guard count > 0 else { return 0 }
        inFlight[queue, default: 0] += count
        wakeupsAtReservation[queue] = wakeups[queue, default: 0]
        return count
    }

    package mutating func claimed(queue: String, reserved: Int, got: Int) {
        inFlight[queue, default: 0] -= reserved - got
        peak[queue] = max(peak[queue] ?? 0, inFlight[queue] ?? 0)
        if got < reserved, wakeups[queue, default: 0] == wakeupsAtReservation[queue] {
            hasWork.remove(queue)
        }
    }

    mutating func finished(queue: String, id: Int64) {
        inFlight[queue, default: 0] -= 1
        running[id] = nil
    }

    /// Returns true when the queue is one of ours.
    package mutating func markHasWork(queue: String) -> Bool {
        guard concurrency[queue] != nil else { return false }
        hasWork.insert(queue)
        wakeups[queue, default: 0] += 1
        return true
    }

    package mutating func markAllHaveWork() {
        for queue in concurrency.keys { _ = markHasWork(queue: queue) }
    }
}

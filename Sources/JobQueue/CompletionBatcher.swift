import Logging
import Synchronization

/// Writes jobs' outcomes — completions, failed attempts, snoozes and shutdown releases — in batches: while
/// one batch's statements are in flight, the next batch collects. An idle worker writes each at
/// once; a busy one writes hundreds per round trip.
///
/// An outcome is never dropped while the worker lives: a write that fails is retried (backing off
/// up to 5 s) until it lands, and every job whose outcome is not written yet stays in
/// ``unwritten``, whose leases the worker keeps renewing. Otherwise a PostgreSQL stall longer
/// than a lease would let the rescue run a finished job again, or undo a handler's `discard`.
/// Only once ``finish()`` was called does it give up, after ``finishGrace``: the process is
/// leaving, and the leases' expiry takes over.
final class CompletionBatcher: Sendable {
    struct Failure: Sendable {
        var job: JobAttempt
        var error: String
        var retryAfter: Duration?
    }

    private struct Pending: Sendable {
        var completed: [JobAttempt] = []
        var failed: [Failure] = []
        var released: [JobAttempt] = []
        var snoozed: [(job: JobAttempt, delay: Duration)] = []
        var isEmpty: Bool { completed.isEmpty && failed.isEmpty && released.isEmpty && snoozed.isEmpty }
        var count: Int { completed.count + failed.count + released.count + snoozed.count }
        var jobs: [JobAttempt] { completed + failed.map(\.job) + released + snoozed.map(\.job) }
    }

    private struct State: Sendable {
        var pending = Pending()
        /// Every job whose outcome is queued or being written.
        var unwritten: [Int64: JobAttempt] = [:]
        var giveUpAt: ContinuousClock.Instant?
    }

    /// How long writes are retried after ``finish()``.
    static let finishGrace = Duration.seconds(30)

    private let store: WorkerStore
    private let logger: Logger
    private let state = Mutex(State())
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init(store: WorkerStore, logger: Logger) {
        self.store = store
        self.logger = logger
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func complete(_ job: JobAttempt) {
        state.withLock {
            $0.pending.completed.append(job)
            $0.unwritten[job.id] = job
        }
        signal.yield()
    }

    func fail(_ job: JobAttempt, error: String, retryAfter: Duration?) {
        state.withLock {
            $0.pending.failed.append(Failure(job: job, error: error, retryAfter: retryAfter))
            $0.unwritten[job.id] = job
        }
        signal.yield()
    }

    func release(_ job: JobAttempt) {
        state.withLock {
            $0.pending.released.append(job)
            $0.unwritten[job.id] = job
        }
        signal.yield()
    }

    func snooze(_ job: JobAttempt, for delay: Duration) {
        state.withLock {
            $0.pending.snoozed.append((job, delay))
            $0.unwritten[job.id] = job
        }
        signal.yield()
    }

    /// The jobs whose outcome is not in the database yet: still this worker's to renew.
    var unwritten: [JobAttempt] { state.withLock { Array($0.unwritten.values) } }

    /// Ends `run()` once everything pending is written, or ``finishGrace`` from now.
    func finish() async {
        state.withLock { $0.giveUpAt = .now + Self.finishGrace }
        signal.finish()
    }

    /// Writes batches until ``finish()``.
    func run() async {
        for await _ in signals {
            await flush()
        }
        await flush()
    }

    private func flush() async {
        while true {
            let batch = state.withLock { state -> Pending in
                defer { state.pending = Pending() }
                return state.pending
            }
            guard !batch.isEmpty else { return }
            var remaining = batch
            var failures = 0
            while !remaining.isEmpty {
                do {
                    if !remaining.completed.isEmpty {
                        try await store.complete(remaining.completed)
                        written(remaining.completed)
                        remaining.completed = []
                    }
                    if !remaining.failed.isEmpty {
                        try await store.fail(remaining.failed)
                        written(remaining.failed.map(\.job))
                        remaining.failed = []
                    }
                    if !remaining.released.isEmpty {
                        try await store.release(remaining.released)
                        written(remaining.released)
                        remaining.released = []
                    }
                    if !remaining.snoozed.isEmpty {
                        try await store.snooze(remaining.snoozed)
                        written(remaining.snoozed.map(\.job))
                        remaining.snoozed = []
                    }
                } catch {
                    failures += 1
                    let count = remaining.count
                    let giveUpAt = state.withLock { $0.giveUpAt }
                    if Task.isCancelled || giveUpAt.map({ ContinuousClock.now >= $0 }) == true {
                        logger.error(
                            "Recording finished jobs failed until shutdown; their leases will expire and they will run again",
                            metadata: ["jobs.count": "\(count)", "error": "\(String(reflecting: error))"])
                        written(remaining.jobs)
                        break
                    }
                    logger.warning(
                        "Recording finished jobs failed; retrying",
                        metadata: ["jobs.count": "\(count)", "error": "\(String(reflecting: error))"])
                    try? await Task.sleep(for: ReconnectBackoff.delay(afterFailures: failures, maximum: .seconds(5)))
                }
            }
        }
    }

    private func written(_ jobs: [JobAttempt]) {
        state.withLock { state in
            for job in jobs where state.unwritten[job.id] == job { state.unwritten[job.id] = nil }
        }
    }
}

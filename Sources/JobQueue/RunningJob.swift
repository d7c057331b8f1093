import Synchronization

/// Why a running job's handler is told to stop before it returns.
enum StopReason: Sendable, Equatable {
    /// Its kind's time-out passed.
    case timedOut(Duration)
    /// Someone cancelled the job.
    case cancelled
    /// The job is no longer ours: its lease was taken over (rescued) or it was finalised elsewhere.
    case leaseLost
    /// The worker is shutting down and the drain time ran out.
    case shutdown
}

/// One claimed job while its handler runs: lets others stop it (time-out, cancel, shutdown) and
/// tells the handler's watcher when to cancel the handler's task.
final class RunningJob: Sendable {
    let job: ClaimedJob
    /// Its kind's definition, looked up once at claim time; nil for a kind nobody registered.
    let definition: AnyJobDefinition?
    let deadline: ContinuousClock.Instant?
    private let state = Mutex<State>(.running(waiter: nil))

    private enum State {
        case running(waiter: CheckedContinuation<StopReason?, Never>?)
        case stopped(StopReason)
        case finished
    }

    init(job: ClaimedJob, definition: AnyJobDefinition?) {
        self.job = job
        self.definition = definition
        self.deadline = definition?.timeout.map { ContinuousClock.now + $0 }
    }

    /// Asks the handler to stop. Returns false when it had already finished or been stopped.
    @discardableResult
    func stop(_ reason: StopReason) -> Bool {
        let waiter: CheckedContinuation<StopReason?, Never>?? = state.withLock { state in
            guard case .running(let waiter) = state else { return .none }
            state = .stopped(reason)
            return .some(waiter)
        }
        guard case .some(let continuation) = waiter else { return false }
        continuation?.resume(returning: reason)
        return true
    }

    /// The handler returned: releases the watcher with nil.
    func finish() {
        let waiter: CheckedContinuation<StopReason?, Never>? = state.withLock { state in
            guard case .running(let waiter) = state else { return nil }
            state = .finished
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Suspends until the job is stopped (returning why) or finishes (returning nil).
    func waitForStop() async -> StopReason? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: StopReason?? = state.withLock { state in
                    switch state {
                    case .running(nil):
                        state = .running(waiter: continuation)
                        return .none
                    case .running(.some):
                        preconditionFailure("only one watcher per running job")
                    case .stopped(let reason):
                        return .some(reason)
                    case .finished:
                        return .some(nil)
                    }
                }
                if case .some(let value) = immediate { continuation.resume(returning: value) }
            }
        } onCancel: {
            self.finish()
        }
    }
}

/// A job as a worker claimed it.
struct ClaimedJob: Sendable {
    let id: Int64
    let queue: String
    let kind: String
    let argsJSON: String
    let attempt: Int
    let maxAttempts: Int
    let priority: Int
    /// Seconds between becoming runnable and being claimed.
    let queueWaitSeconds: Double
}

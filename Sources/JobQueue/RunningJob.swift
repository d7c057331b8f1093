import Synchronization

/// Why a running job's handler is told to stop before it returns.
enum StopReason: Sendable, Equatable {
    /// Its kind's time-out passed.
    case timedOut(Duration)
    /// Someone cancelled the job.
    case cancelled
    /// The job is no longer ours: its lease was taken over (rescued) or it was finalised elsewhere.
    case leaseLost
    /// Its lease could not be renewed in time (PostgreSQL slow or unreachable): it may soon be
    /// another worker's.
    case leaseUnrenewed
    /// The worker is shutting down and the drain time ran out.
    case shutdown
}

/// One claimed job while its handler runs: lets others stop it (time-out, cancel, shutdown) and
/// tells the worker, through the callback it registers, when to give up on the handler.
final class RunningJob: Sendable {
    let job: ClaimedJob
    /// Its kind's definition, looked up once at claim time; nil for a kind nobody registered.
    let definition: AnyJobDefinition?
    let deadline: ContinuousClock.Instant?
    private let state = Mutex<State>(.running(onStop: nil))
    /// Until when the job is surely ours: the lease counted from before the statement that took or
    /// last renewed it, on this process's monotonic clock.
    private let held: Mutex<ContinuousClock.Instant>

    private enum State {
        case running(onStop: (@Sendable (StopReason) -> Void)?)
        case stopped(StopReason)
        case finished
    }

    init(job: ClaimedJob, definition: AnyJobDefinition?, heldUntil: ContinuousClock.Instant) {
        self.job = job
        self.definition = definition
        self.deadline = definition?.timeout.map { ContinuousClock.now + $0 }
        self.held = Mutex(heldUntil)
    }

    var heldUntil: ContinuousClock.Instant { held.withLock { $0 } }

    func renewed(until instant: ContinuousClock.Instant) {
        held.withLock { $0 = max($0, instant) }
    }

    /// Asks the handler to stop. Returns false when it had already finished or been stopped.
    @discardableResult
    func stop(_ reason: StopReason) -> Bool {
        let callback: (@Sendable (StopReason) -> Void)?? = state.withLock { state in
            guard case .running(let onStop) = state else { return .none }
            state = .stopped(reason)
            return .some(onStop)
        }
        guard case .some(let onStop) = callback else { return false }
        onStop?(reason)
        return true
    }

    /// The handler returned: later stops are refused.
    func finish() {
        state.withLock { state in
            if case .running = state { state = .finished }
        }
    }

    /// Calls `body` once when the job is stopped — at once if it already was, never once it finished.
    func onStop(_ body: @escaping @Sendable (StopReason) -> Void) {
        let already: StopReason? = state.withLock { state in
            switch state {
            case .running:
                state = .running(onStop: body)
                return nil
            case .stopped(let reason):
                return reason
            case .finished:
                return nil
            }
        }
        if let already { body(already) }
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

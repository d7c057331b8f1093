import Foundation
import Synchronization

/// Thrown by ``withinTimeLimit(_:_:_:)`` when the call has not returned in time.
public struct TimeLimitExceeded: Error, CustomStringConvertible {
    public let what: String
    public let limit: Duration
    public var description: String { "\(what) did not end within \(limit)" }
}

/// Runs `body` and returns what it returns, or throws ``TimeLimitExceeded`` once `limit` has passed.
///
/// For the part of a test that could hang, where Swift Testing's `.timeLimit` would also count the
/// time the test waits for a database slot (``TestSlots``; in a run of the whole suite that wait
/// alone passed two minutes). A call stuck on a promise nobody will complete does not end when
/// cancelled, so the caller is not made to wait for it: it is cancelled and left behind. A run
/// that passes the limit fails loudly rather than hanging until CI's own limit.
public func withinTimeLimit<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let work = Task { try await body() }
    let waiting = Waiting<T>()
    return try await withCheckedThrowingContinuation { continuation in
        waiting.set(continuation)
        let timer = Task {
            do { try await Task.sleep(for: limit) } catch { return }
            guard let continuation = waiting.take() else { return }
            let exceeded = TimeLimitExceeded(what: what, limit: limit)
            // Said at once: closing a connection under a cancelled `COPY` crashed the test process
            // (PostgresNIO 1.33.2, "Invalid query state machine action in state: .closing") before
            // the test's failure was reported.
            FileHandle.standardError.write(Data("\(exceeded); cancelled\n".utf8))
            work.cancel()
            continuation.resume(throwing: exceeded)
        }
        Task {
            let result = await work.result
            // Taken before the timer is stopped, so a timer waking meanwhile finds nothing to end.
            let continuation = waiting.take()
            timer.cancel()
            continuation?.resume(with: result)
        }
    }
}

/// The caller's continuation, taken by whichever comes first: the result or the limit.
private final class Waiting<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ waiting: CheckedContinuation<T, any Error>) { continuation.withLock { $0 = waiting } }
    func take() -> CheckedContinuation<T, any Error>? { continuation.withLock { $0.take() } }
}

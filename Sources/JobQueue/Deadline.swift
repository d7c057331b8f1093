/// How long the queue's own statements may take before it stops waiting for them.
enum StatementDeadline {
    /// Claims, completions, lease renewals, leader renewals, promotions and rescues are single
    /// statements over indexed rows that take milliseconds; 15 s means the connection is dead.
    static let standard = Duration.seconds(15)
    /// A claim skips locked rows and reads a small index: it answers in milliseconds even on a
    /// busy server, so 5 s without an answer means its connection died (a PostgreSQL restart, a
    /// fail-over). Waiting out the standard 15 s there left the worker idle that long while jobs
    /// waited: the first delivery after a promotion took 15.4 s once (RELIABILITY.md). A claim
    /// that still commits after its deadline leaves its jobs to the rescue when their lease ends.
    static let claim = Duration.seconds(5)
    /// Pruning deletes batches of rows and may wait on locks.
    static let pruning = Duration.seconds(60)
}

/// Waits for `operation` at most `limit`; then cancels it, stops waiting and throws
/// ``QueueError/Code/timedOut``.
///
/// Why not simply cancel: a PostgresNIO query sent on a connection that the server closed under it
/// (a restart, a fail-over) can wait forever and ignore its cancellation: ReliabilityTests meets a
/// handful per PostgreSQL restart, with 40 jobs in flight (RELIABILITY.md). Run inside a claim, a
/// lease renewal or a rescue, such a wait would stop that loop for good. The operation runs in a task
/// of its own, which is left behind if it does not end.
package func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let (events, emit) = AsyncStream.makeStream(of: Result<T, any Error>?.self)
    let work = Task {
        do {
            emit.yield(.success(try await operation()))
        } catch {
            emit.yield(.failure(error))
        }
    }
    let timer = Task {
        try? await Task.sleep(for: limit)
        emit.yield(nil)
    }
    defer {
        timer.cancel()
        emit.finish()
    }
    return try await withTaskCancellationHandler {
        for await event in events {
            guard let event else {
                work.cancel()
                throw QueueError(.timedOut, "\(what): no answer from PostgreSQL within \(limit)")
            }
            return try event.get()
        }
        throw CancellationError()
    } onCancel: {
        work.cancel()
        emit.finish()
    }
}

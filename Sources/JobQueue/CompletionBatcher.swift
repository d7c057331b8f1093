import Logging
import Synchronization

/// Writes completions (and shutdown releases) in batches: while one batch's statement is in
/// flight, the next batch collects. An idle worker writes each completion at once; a busy one
/// writes hundreds per round trip.
final class CompletionBatcher: Sendable {
    private struct Pending: Sendable {
        var completed: [JobAttempt] = []
        var released: [JobAttempt] = []
        var isEmpty: Bool { completed.isEmpty && released.isEmpty }
    }

    private let store: WorkerStore
    private let logger: Logger
    private let pending = Mutex(Pending())
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init(store: WorkerStore, logger: Logger) {
        self.store = store
        self.logger = logger
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func complete(_ job: JobAttempt) {
        pending.withLock { $0.completed.append(job) }
        signal.yield()
    }

    func release(_ job: JobAttempt) {
        pending.withLock { $0.released.append(job) }
        signal.yield()
    }

    /// Ends `run()` once everything pending is written.
    func finish() async {
        signal.finish()
    }

    /// Writes batches until ``finish()``; survives database outages by retrying each batch
    /// (bounded: after the last try the leases' expiry takes over and the jobs run again).
    func run() async {
        for await _ in signals {
            await flush()
        }
        await flush()
    }

    private func flush() async {
        while true {
            let batch = pending.withLock { pending -> Pending in
                defer { pending = Pending() }
                return pending
            }
            guard !batch.isEmpty else { return }
            for attempt in 1...8 {
                do {
                    if !batch.completed.isEmpty { try await store.complete(batch.completed) }
                    if !batch.released.isEmpty { try await store.release(batch.released) }
                    break
                } catch {
                    logger.warning(
                        "Recording finished jobs failed; retrying",
                        metadata: ["jobs.count": "\(batch.completed.count + batch.released.count)", "error": "\(String(reflecting: error))"])
                    if attempt == 8 { break }
                    try? await Task.sleep(for: .milliseconds(100 << attempt))
                }
            }
        }
    }
}

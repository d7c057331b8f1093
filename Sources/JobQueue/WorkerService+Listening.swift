import Synchronization
import Logging
import PostgresNIO

extension WorkerService {
    /// LISTENs for runnable work and for cancellations, each on its own channel, on one
    /// connection; reconnects with a bounded backoff.
    func listen() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await store.client.withConnection { connection in
                    try await connection.listen(on: QueueSQL.cancelChannel) { cancellations in
                        try await connection.listen(on: QueueSQL.jobsChannel) { work in
                            failures = 0
                            // Anything committed while we were not listening is found by this claim, and
                            // a cancellation we missed by the next lease renewal, which we bring forward.
                            self.state.withLock { state in
                                state.markAllHaveWork()
                                state.renewLeasesNow = true
                            }
                            self.wake.yield()
                            let probe = ListenProbe()
                            // True when a stream ended: the connection is gone, listen anew.
                            try await withThrowingTaskGroup(of: Bool.self) { group in
                                group.addTask {
                                    for try await note in cancellations { self.cancelRunning(jobID: note.payload) }
                                    return true
                                }
                                group.addTask {
                                    for try await note in work where !probe.heard(note.payload) { self.workArrived(queue: note.payload) }
                                    return true
                                }
                                group.addTask {
                                    try await self.expectToHear(probe)
                                    return false
                                }
                                while let streamEnded = try await group.next(), !streamEnded {}
                                group.cancelAll()
                            }
                        }
                    }
                }
            } catch is ListenProbe.Unheard {
                // Poll meanwhile; one slow delivery on a loaded server must not end LISTEN for good.
                logger.warning(
                    "LISTEN does not deliver notifications on this connection (a pooler in transaction mode?): polling every \(configuration.pollInterval), trying again in 5 minutes",
                    metadata: ["hint": "use DATABASE_URL=…?pooling=transaction or --no-listen to skip this check"])
                try? await Task.sleep(for: .seconds(300))
                continue
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.warning("Listening for jobs failed; reconnecting", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: ReconnectBackoff.delay(afterFailures: failures))
        }
    }

    /// Sends a notification to ourselves over another connection and waits up to 10 s for it:
    /// through a pooler in transaction mode, LISTEN "succeeds" but nothing ever arrives.
    private func expectToHear(_ probe: ListenProbe) async throws {
        // Under a deadline like every statement of the queue's own: this one used to be the only
        // one without, and a query the pool sends on a connection that has just closed never
        // returns (PostgresNIO 1.33.2, RELIABILITY.md). It held `listen()`, and with it the
        // worker's shutdown, for good.
        try await withDeadline(StatementDeadline.standard, "asking for a notification") { [client = store.client, logger, token = probe.token] in
            _ = try await client.query("SELECT pg_notify(\(QueueSQL.jobsChannel), \(token))", logger: logger)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while !probe.wasHeard {
            guard ContinuousClock.now < deadline else { throw ListenProbe.Unheard() }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func cancelRunning(jobID payload: String) {
        guard let id = Int64(payload) else { return }
        let runs = state.withLock { $0.running.values.filter { $0.job.id == id } }
        for run in runs where run.stop(.cancelled) {
            logger.info("Job cancelled while running", metadata: ["job.id": "\(id)"])
        }
    }

    private func workArrived(queue: String) {
        if state.withLock({ $0.markHasWork(queue: queue) }) { wake.yield() }
    }

    /// Learns which of the worker's queues have limits across workers.
    func refreshLimits() async {
        do {
            let limited = try await store.limitedQueues(configuration.queues.keys.sorted())
            state.withLock { $0.limitedQueues = limited }
        } catch where !Task.isCancelled {
            logger.warning("Reading the queues' limits failed; keeping the last known", metadata: ["error": "\(String(reflecting: error))"])
        } catch {}
    }

    /// The fallback poll (the only way to find work without LISTEN): a missed notification delays
    /// a job by at most one interval. It also learns which queues have limits across workers, so
    /// a limit set or lifted takes effect within one interval.
    func poll() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.pollInterval)
            await refreshLimits()
            state.withLock { $0.markAllHaveWork() }
            wake.yield()
        }
    }
}

/// A notification a worker sends itself to learn whether LISTEN works. Its payload is no valid
/// queue name, so no other worker mistakes it for work.
final class ListenProbe: Sendable {
    struct Unheard: Error {}

    let token = "~probe~" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    private let received = Mutex(false)

    var wasHeard: Bool { received.withLock { $0 } }

    /// Whether `payload` is this probe (and notes that it arrived).
    func heard(_ payload: String) -> Bool {
        guard payload == token else { return false }
        received.withLock { $0 = true }
        return true
    }
}

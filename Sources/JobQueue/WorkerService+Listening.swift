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
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask { for try await note in cancellations { self.cancelRunning(jobID: note.payload) } }
                                group.addTask { for try await note in work { self.workArrived(queue: note.payload) } }
                                // Either stream ending means the connection is gone: listen anew.
                                try await group.next()
                                group.cancelAll()
                            }
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

    private func cancelRunning(jobID payload: String) {
        guard let id = Int64(payload) else { return }
        if let job = state.withLock({ $0.running[id] }), job.stop(.cancelled) {
            logger.info("Job cancelled while running", metadata: ["job.id": "\(id)"])
        }
    }

    private func workArrived(queue: String) {
        if state.withLock({ $0.markHasWork(queue: queue) }) { wake.yield() }
    }

    /// The fallback poll (the only way to find work without LISTEN): a missed notification delays
    /// a job by at most one interval.
    func poll() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.pollInterval)
            state.withLock { $0.markAllHaveWork() }
            wake.yield()
        }
    }
}

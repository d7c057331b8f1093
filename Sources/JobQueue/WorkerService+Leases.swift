import Synchronization
import Logging

extension WorkerService {
    /// How long before a lease runs out a handler whose lease could not be renewed is stopped:
    /// time for the stop to reach the handler before the rescue may hand the job to another worker.
    var leaseMargin: Duration { min(configuration.leaseDuration / 4, .seconds(5)) }

    /// Enforces time-outs and lost leases, every 100 ms, on this process's monotonic clock. It
    /// never waits on PostgreSQL (renewals run in ``renewLeases()``), so a renewal that hangs cannot
    /// delay a stop.
    func supervise() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let now = ContinuousClock.now
            for job in state.withLock({ Array($0.running.values) }) {
                if let deadline = job.deadline, deadline <= now, let timeout = job.definition?.timeout {
                    job.stop(.timedOut(timeout))
                }
                if now >= job.heldUntil - leaseMargin, job.stop(.leaseUnrenewed) {
                    logger.warning("Could not renew the job's lease in time; stopping its handler before another worker may take the job",
                                   metadata: ["job.id": "\(job.job.id)"])
                }
            }
        }
    }

    /// Every third of a lease (at once after the listener reconnects): records the worker's
    /// heartbeat and extends the leases of the jobs running here and of those whose outcome is not
    /// written yet, in one statement. A job whose lease is no longer ours (cancelled, rescued) is
    /// stopped. A failed renewal is retried after a second.
    func renewLeases() async {
        // Due times on the monotonic clock, not counted sleeps: on a loaded machine a 100 ms sleep
        // can take far longer, and counting ticks stretched a third of a lease into a whole one.
        var due = ContinuousClock.now
        while !Task.isCancelled {
            let renewNow = state.withLock { state in
                defer { state.renewLeasesNow = false }
                return state.renewLeasesNow
            }
            guard ContinuousClock.now >= due || renewNow else {
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            due = ContinuousClock.now + configuration.leaseDuration / 3
            let running = state.withLock { Array($0.running.values) }
            let runningAttempts = running.map { JobAttempt(id: $0.job.id, attempt: $0.job.attempt) }
            let held = Array(Set(runningAttempts + completions.unwritten))
            do {
                let asked = ContinuousClock.now
                let lost = try await store.heartbeat(heartbeat(running: running.count), extending: held, lease: configuration.leaseDuration)
                for job in running {
                    if !lost.contains(job.job.id) {
                        job.renewed(until: asked + configuration.leaseDuration)
                    } else if job.stop(.leaseLost) {
                        logger.info("Job no longer ours (cancelled or rescued); stopping it", metadata: ["job.id": "\(job.job.id)"])
                    }
                }
            } catch {
                logger.warning("Renewing leases failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                due = min(due, ContinuousClock.now + .seconds(1))
            }
        }
    }

    func heartbeat(running: Int) -> WorkerHeartbeat {
        WorkerHeartbeat(
            queues: configuration.queues.keys.sorted(), concurrency: configuration.queues.values.reduce(0, +),
            lease: configuration.leaseDuration, running: running)
    }
}

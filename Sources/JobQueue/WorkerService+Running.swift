import CoreMetrics
import Synchronization
import Foundation
import Logging

extension WorkerService {
    enum Outcome: Sendable {
        case succeeded
        case failed(any Error)
        case stopped(StopReason)
    }

    func execute(_ running: RunningJob) async {
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
        case .failed(let snooze as JobSnooze):
            logger.debug("Job snoozed", metadata: ["job.snooze": "\(snooze.delay)"])
            completions.snooze(attempt, for: snooze.delay)
        case .failed(let error):
            recordFailure(job, attempt: attempt, error: error, definition: definition, logger: logger, instruments: instruments)
        case .stopped(.timedOut(let limit)):
            let error = QueueError(.timedOut, jobID: job.id, "timed out after \(limit)")
            recordFailure(job, attempt: attempt, error: error, definition: definition, logger: logger, instruments: instruments)
        case .stopped(.leaseUnrenewed):
            // Recorded as a failed attempt, so that the job runs again after its backoff instead of
            // waiting for the rescue; if the rescue took it meanwhile, the write changes nothing.
            let error = QueueError(.leaseLost, jobID: job.id, "stopped: the worker could not renew the job's lease (PostgreSQL slow or unreachable)")
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
    /// slot or the worker's shutdown forever, and counted until it ends (``health``).
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
            let abandoned = state.withLock { state in
                state.abandoned += 1
                return state.abandoned
            }
            logger.warning("Handler still running \(configuration.cancellationGrace) after it was cancelled; leaving it behind",
                           metadata: ["job.stop_reason": "\(reason)", "worker.abandoned_handlers": "\(abandoned)"])
            if abandoned == configuration.maxAbandonedHandlers {
                logger.error("Too many handlers ignored their cancellation; this worker claims no more jobs: restart it",
                             metadata: ["worker.abandoned_handlers": "\(abandoned)"])
            }
            Task {
                await handler.value
                self.state.withLock { $0.abandoned -= 1 }
            }
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
}

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
        let context = JobContext(
            jobID: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, maxAttempts: job.maxAttempts,
            workerID: configuration.workerID, logger: logger, queueWait: .milliseconds(Int64(job.queueWaitSeconds * 1000)))
        let startedAt = ContinuousClock.now
        let outcome = await run(running, context: context)
        let runTime = ContinuousClock.now - startedAt
        let attempt = JobAttempt(id: job.id, attempt: job.attempt)

        let reported: JobOutcome
        switch outcome {
        case .succeeded:
            completions.complete(attempt)
            reported = .completed
        case .failed(let snooze as JobSnooze):
            context.logger.debug("Job snoozed", metadata: ["job.snooze": "\(snooze.delay)"])
            completions.snooze(attempt, for: snooze.delay)
            reported = .snoozed(snooze.delay)
        case .failed(let error):
            reported = recordFailure(job, attempt: attempt, error: error, definition: running.definition, logger: context.logger)
        case .stopped(.timedOut(let limit)):
            let error = QueueError(.timedOut, jobID: job.id, "timed out after \(limit)")
            reported = recordFailure(job, attempt: attempt, error: error, definition: running.definition, logger: context.logger)
        case .stopped(.leaseUnrenewed):
            // Recorded as a failed attempt, so that the job runs again after its backoff instead of
            // waiting for the rescue; if the rescue took it meanwhile, the write changes nothing.
            let error = QueueError(.leaseLost, jobID: job.id, "stopped: the worker could not renew the job's lease (PostgreSQL slow or unreachable)")
            reported = recordFailure(job, attempt: attempt, error: error, definition: running.definition, logger: context.logger)
        case .stopped(.shutdown):
            completions.release(attempt)
            reported = .stopped(reason: "the worker shut down; the job was given back")
        case .stopped(.cancelled):
            reported = .stopped(reason: "cancelled")
        case .stopped(.leaseLost):
            context.logger.debug("Job stopped: no longer ours")
            reported = .stopped(reason: "no longer this worker's (rescued or finished elsewhere)")
        }
        for middleware in middleware { middleware.finished(context, outcome: reported, runTime: runTime) }
        state.withLock { $0.finished(queue: job.queue, run: running) }
        wake.yield()
    }

    /// Runs the handler, inside the middleware, until it returns or the job is stopped. A stopped
    /// handler is cancelled and given ``Configuration/cancellationGrace`` to end; one that ignores
    /// its cancellation (a driver call that never returns, say) is left behind, so that it cannot
    /// hold its job, its slot or the worker's shutdown forever, and counted until it ends (``health``).
    private func run(_ running: RunningJob, context: JobContext) async -> Outcome {
        let first = FirstOutcome<Outcome>()
        let handler: @Sendable () async throws -> Void
        if let definition = running.definition {
            let args = running.job.argsJSON
            handler = { try await definition.run(args, context) }
        } else {
            let error = QueueError(
                .unknownKind, jobID: context.jobID,
                "unknown job kind '\(context.kind)': no handler is registered for it on worker \(configuration.workerID)")
            handler = { throw error }
        }
        let chain = middleware.reversed().reduce(handler) { next, middleware in
            { try await middleware.run(context, next: next) }
        }
        // Unstructured on purpose: a structured child would have to be awaited, however long it hangs.
        // Its value: whether the handler returned (rather than threw).
        let task = Task { () -> Bool in
            do {
                try await chain()
                first.offer(.succeeded)
                return true
            } catch {
                first.offer(.failed(error))
                return false
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
        task.cancel()
        do {
            let returned = try await withDeadline(configuration.cancellationGrace, "waiting for a cancelled handler") { await task.value }
            // The lease could not be renewed just as the handler was returning: its work is done, and
            // recording a failed attempt would run it again (DatabaseFreezeTests met this under
            // load). The job is still this worker's until the lease ends, and its completion, like
            // any, is written however late with the lease renewed meanwhile.
            if returned, case .leaseUnrenewed = reason { return .succeeded }
        } catch {
            metrics.instruments(queue: running.job.queue, kind: running.job.kind).abandoned.increment()
            let abandoned = state.withLock { state in
                state.abandoned += 1
                return state.abandoned
            }
            context.logger.warning("Handler still running \(configuration.cancellationGrace) after it was cancelled; leaving it behind",
                           metadata: ["job.stop_reason": "\(reason)", "worker.abandoned_handlers": "\(abandoned)"])
            if abandoned == configuration.maxAbandonedHandlers {
                context.logger.error("Too many handlers ignored their cancellation; this worker claims no more jobs: restart it",
                             metadata: ["worker.abandoned_handlers": "\(abandoned)"])
            }
            Task {
                _ = await task.value
                self.state.withLock { $0.abandoned -= 1 }
            }
        }
        return outcome
    }

    private func recordFailure(
        _ job: ClaimedJob, attempt: JobAttempt, error: any Error, definition: AnyJobDefinition?, logger: Logger
    ) -> JobOutcome {
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
        logger.debug("Job failed", metadata: ["error": "\(message)", "job.retry_in": "\(retryAfter.map { "\($0)" } ?? "never")"])
        // Through the same retried path as completions: written however late, its lease renewed
        // until then, so that a rescue never skips the backoff or undoes a discard.
        let stored = Self.storable(message)
        completions.fail(attempt, error: stored, retryAfter: retryAfter)
        return retryAfter.map { .failed(error: stored, retryIn: $0) } ?? .discarded(error: stored)
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

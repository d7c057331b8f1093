import Foundation
import Testing
import TestSupport

/// A set of `creditops worker` processes delivering reminders to a webhook, which a test may kill
/// and restart one by one; the output of every process that ever ran is kept for the end.
final class DeliveryWorkers: @unchecked Sendable {
    // @unchecked: a test drives it from one task at a time.
    let arguments: [String]
    let environment: [String: String]
    private(set) var running: [CreditOpsProcess.Running]
    private var finished: [CreditOpsProcess.Running] = []

    /// Starts `count` workers on the reminders queue.
    init(count: Int, concurrency: Int, leaseSeconds: Int, databaseURL: String, webhookURL: String,
         extraEnvironment: [String: String] = [:]) throws {
        // At debug level the service group logs each step of its shutdown: what ``terminate()``
        // shows of a worker that does not stop.
        arguments = ["worker", "--queues", "reminders", "--concurrency", "\(concurrency)", "--lease-seconds", "\(leaseSeconds)",
                     "--leader-ttl-seconds", "2", "--poll-ms", "200", "--log-level", "debug"]
        environment = ["DATABASE_URL": databaseURL, "CREDITOPS_WEBHOOK_URL": webhookURL, "CREDITOPS_WEBHOOK_SECRET": "reliability-secret"]
            .merging(extraEnvironment) { $1 }
        running = []
        for _ in 0..<count { running.append(try CreditOpsProcess.start(arguments, environment: environment)) }
    }

    /// SIGKILLs worker `index`, waits for it to be gone, and starts a new one in its place.
    /// - Returns: when the signal was sent.
    func killAndRestart(_ index: Int) async throws -> ContinuousClock.Instant {
        let victim = running[index]
        let killedAt = ContinuousClock.now
        victim.kill(signal: SIGKILL)
        #expect(await victim.wait(timeout: .seconds(10)), "a SIGKILLed worker did not die")
        finished.append(victim)
        running[index] = try CreditOpsProcess.start(arguments, environment: environment)
        return killedAt
    }

    /// Whether every current worker is still running (none gave up and exited).
    var allAlive: Bool { running.allSatisfy { $0.process.isRunning } }

    /// Stops every worker with SIGTERM, as systemd would stop a running service; returns their exit
    /// statuses. A worker restarted a moment ago is first let finish starting: before its signal
    /// handler is in place, SIGTERM ends a process the default way.
    func terminate() async -> [Int32] {
        var statuses: [Int32] = []
        for worker in running {
            let started = (try? await eventually(timeout: .seconds(30)) { worker.stderr().contains("Worker starting") }) ?? false
            #expect(started, "a worker never started: \(worker.stderr().suffix(2000))")
            worker.kill(signal: SIGTERM)
            if await worker.wait(timeout: .seconds(60)) {
                statuses.append(worker.process.terminationStatus)
            } else {
                let log = worker.stderr()
                let saved = FileManager.default.temporaryDirectory.appendingPathComponent("hung-worker-\(worker.process.processIdentifier).log")
                try? log.write(to: saved, atomically: true, encoding: .utf8)
                Issue.record("a worker was still running 60 s after SIGTERM (its stderr: \(saved.path)); its last steps:\n\(Self.shutdownSteps(log))")
                worker.kill(signal: SIGKILL)
                statuses.append(-1)
            }
        }
        finished += running
        running = []
        return statuses
    }

    /// The lines of a worker's log that say how far its shutdown got (the service group's steps at
    /// debug level, warnings, errors), shortened: what a CI log can show of a worker that hung.
    static func shutdownSteps(_ log: String) -> String {
        let steps = log.split(separator: "\n").filter {
            $0.contains("[ServiceLifecycle]") || $0.contains(" warning ") || $0.contains(" error ") || $0.contains("Worker ")
        }
        return steps.suffix(30).map { $0.prefix(300) }.joined(separator: "\n")
    }

    /// Everything the workers wrote on stderr.
    var stderr: String { (finished + running).map { $0.stderr() }.joined(separator: "\n") }

    /// Kills whatever still runs and deletes the output files.
    func cleanUp() {
        for worker in running { worker.kill(signal: SIGKILL) }
        for worker in finished + running { worker.removeOutput() }
    }
}

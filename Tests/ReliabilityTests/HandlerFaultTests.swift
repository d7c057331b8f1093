import Foundation
import JobQueue
import PostgresNIO
import Testing
import TestSupport

extension ReliabilityTests {
    /// Handlers that misbehave inside real worker processes (the `fault-worker` test fixture): one
    /// runs past its time-out, one crashes its process.
    @Suite struct HandlerFaults {
        static var faultWorker: String {
            CreditOpsProcess.binary.deletingLastPathComponent().appendingPathComponent("fault-worker").path
        }

        static func start(_ database: TestDatabase) throws -> CreditOpsProcess.Running {
            // The crash report would take seconds to symbolicate in a debug build; the test only
            // needs the process gone.
            try CreditOpsProcess.start(executable: faultWorker, ["2"],
                                       environment: ["DATABASE_URL": database.url, "SWIFT_BACKTRACE": "enable=no"])
        }

        @Test func aSlowHandlerIsCancelledAndRetriedAndACrashIsRescued() async throws {
            try await TestDatabase.withDatabase { client, database in
                let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
                var workers = [try Self.start(database), try Self.start(database)]
                defer { for worker in workers { worker.kill(signal: SIGKILL); worker.removeOutput() } }

                // Slow: the first attempt sleeps past its 1 s time-out, the second succeeds.
                var slow: [Int64] = []
                for _ in 0..<4 {
                    slow.append(try await queue.enqueue(NewJob(kind: "fault.slow", argsJSON: #"{"failingAttempts": 1}"#, queue: "faults")))
                }
                let slowCount = slow.count
                let slowDone = try await eventually(timeout: .seconds(60)) {
                    try await client.integer("SELECT count(*) FROM jobs WHERE kind = 'fault.slow' AND state = 'completed'") == slowCount
                }
                #expect(slowDone, "slow jobs did not complete: \(workers.map { $0.stderr() })")
                for id in slow {
                    let record = try await queue.job(id: id)
                    #expect(record.attempt == 2)
                    #expect(record.errors.map(\.error) == ["timed out after 1.0 seconds"])
                }

                // Crash: the worker that takes the job dies on its first attempt; the other one
                // rescues the job once the lease (2 s) runs out, and runs it again.
                let crash = try await queue.enqueue(NewJob(kind: "fault.crash", argsJSON: #"{"failingAttempts": 1}"#, queue: "faults"))
                let pair = workers
                let oneDied = try await eventually(timeout: .seconds(60)) { pair.contains { !$0.process.isRunning } }
                let crashedAt = ContinuousClock.now
                #expect(oneDied, "no worker crashed")
                let crashed = workers.first { !$0.process.isRunning }
                #expect(crashed?.process.terminationReason == .uncaughtSignal, "the crash is a crash, not an exit")
                #expect(crashed?.stderr().contains("fault.crash: crashing the worker process on purpose") == true)
                let rescued = try await eventually(timeout: .seconds(60)) { try await queue.job(id: crash).state == .completed }
                let rescuedAt = ContinuousClock.now
                #expect(rescued, "the crashed job was not rescued: \(workers.map { $0.stderr() })")
                let record = try await queue.job(id: crash)
                #expect(record.attempt == 2)
                #expect(record.errors.count == 1)
                // Its lease or its heartbeat, whichever ran out first (both are renewed together).
                #expect(record.errors.first.map { $0.error.hasSuffix("vanished: its lease expired") || $0.error.hasSuffix("vanished: its heartbeat stopped") } == true,
                        "\(record.errors)")
                #expect(workers.filter { $0.process.isRunning }.count == 1, "the other worker kept running")

                // Restarted, as systemd would, the crashed worker joins in again.
                if let index = workers.firstIndex(where: { !$0.process.isRunning }) {
                    workers[index].removeOutput()
                    workers[index] = try Self.start(database)
                }
                let again = try await queue.enqueue(NewJob(kind: "fault.slow", argsJSON: #"{"failingAttempts": 0}"#, queue: "faults"))
                #expect(try await eventually(timeout: .seconds(30)) { try await queue.job(id: again).state == .completed })
                #expect(try await client.integer("SELECT count(*) FROM jobs WHERE state = 'running'") == 0)

                ReliabilityReport.record("Misbehaving handlers", [
                    ("slow handlers (1 s time-out)", "\(slow.count), each cancelled once and completed on attempt 2"),
                    ("crashing handler", "its process died of a signal; the job completed on attempt 2 in another process"),
                    ("crash to completion (lease 2 s)", (rescuedAt - crashedAt).shown),
                ])
            }
        }
    }
}

import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// The real `creditops worker` binary, killed and restarted: nothing is lost.
@Suite struct WorkerProcessTests {
    @Test func aJobOfAKilledWorkerRunsAgainAfterItsLease() async throws {
        try await TestDatabase.withDatabase { client, database in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            // Long enough that the first worker cannot finish it before the kill however loaded the
            // machine (at 1.5 s a run beside a build and a demo finished it first).
            let id = try await queue.enqueue(NewJob(kind: "sleep", argsJSON: #"{"milliseconds": 15000}"#, maxAttempts: 5))
            let environment = ["DATABASE_URL": database.url]
            let workerArguments = ["worker", "--lease-seconds", "2", "--poll-ms", "100", "--log-level", "warning"]

            let doomed = try CreditOpsProcess.start(workerArguments, environment: environment)
            defer { doomed.removeOutput() }
            let claimed = try await eventually { try await queue.job(id: id).state == .running }
            #expect(claimed, "the first worker never claimed the job: \(doomed.stderr())")
            doomed.kill(signal: SIGKILL)
            #expect(await doomed.wait(timeout: .seconds(10)))
            #expect(try await queue.job(id: id).state == .running)  // orphaned, until its lease runs out

            let survivor = try CreditOpsProcess.start(workerArguments, environment: environment)
            defer {
                survivor.kill(signal: SIGKILL)
                survivor.removeOutput()
            }
            let completed = try await eventually(timeout: .seconds(120)) { try await queue.job(id: id).state == .completed }
            #expect(completed, "the job did not complete after the rescue: \(survivor.stderr())")
            let record = try await queue.job(id: id)
            #expect(record.attempt == 2)
            #expect(record.errors.count == 1)
            // Its lease or its heartbeat, whichever ran out first (both are renewed together).
            #expect(record.errors.first.map { $0.error.hasSuffix("vanished: its lease expired") || $0.error.hasSuffix("vanished: its heartbeat stopped") } == true,
                    "\(record.errors)")

            // The survivor shuts down cleanly on SIGTERM.
            survivor.kill(signal: SIGTERM)
            #expect(await survivor.wait(timeout: .seconds(10)))
            #expect(survivor.process.terminationStatus == 0)
            let rows = try await client.query("SELECT count(*)::int8 FROM jobs WHERE state = 'running'", logger: silentLogger)
            for try await running in rows.decode(Int64.self) { #expect(running == 0) }
        }
    }

    @Test func theGatewaysQuotasFromTheEnvironmentLimitTheRemindersQueue() async throws {
        try await TestDatabase.withDatabase { client, database in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            try await queue.setLimits(queue: "reminders", concurrency: 3, rate: nil)
            let worker = try CreditOpsProcess.start(
                ["worker", "--log-level", "warning"],
                environment: ["DATABASE_URL": database.url, "CREDITOPS_REMINDERS_RATE": "20/1s"])
            defer {
                worker.kill(signal: SIGKILL)
                worker.removeOutput()
            }
            let limited = try await eventually { try await queue.stats().first { $0.queue == "reminders" }?.rateLimit?.description == "20/1s" }
            #expect(limited, "\(worker.stderr())")
            // The concurrency limit was not configured: it stays as the operator set it.
            #expect(try await queue.stats().first { $0.queue == "reminders" }?.concurrencyLimit == 3)

            let refused = try await CreditOpsProcess.run(
                ["worker"], environment: ["DATABASE_URL": database.url, "CREDITOPS_REMINDERS_RATE": "20 a second"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("CREDITOPS_REMINDERS_RATE '20 a second' is not N/SECONDSs such as 20/1s, or none"))
        }
    }
}

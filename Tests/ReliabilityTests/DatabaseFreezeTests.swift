import CreditWorkers
import EmbeddedPostgres
import Foundation
import JobQueue
import PostgresNIO
import Testing
import TestSupport

extension ReliabilityTests {
    /// PostgreSQL frozen — SIGSTOP of the postmaster and every backend, as a VM pause, a stuck
    /// storage device or a debugger does — for three leases while handlers finish: every job whose
    /// handler returned stays done, and nothing is lost. Counted at the sink: each `fault.record`
    /// handler appends its job to a file as the last thing before it returns.
    @Suite struct DatabaseFreeze {
        static let lease = 4
        static let freezeSeconds = 12
        static let jobs = 400
        static let concurrency = 20

        @Test func jobsWhoseHandlersReturnedDuringAFreezeDoNotRunAgain() async throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-freeze-\(UUID().uuidString)").path
            let server = EmbeddedPostgres(
                configuration: .init(dataDirectory: folder, durability: .throwaway, removeWhenProcessExits: true), logger: silentLogger)
            let endpoint = try await server.start()
            let sink = folder + "-sink.txt"
            FileManager.default.createFile(atPath: sink, contents: nil)
            var failure: (any Error)?
            do {
                try await Self.freezeWhileHandlersFinish(url: endpoint.url + "?sslmode=disable", dataDirectory: folder, sink: sink)
            } catch {
                failure = error
            }
            // Never leave a stopped server behind, whatever failed.
            Self.signalServer(dataDirectory: folder, SIGCONT)
            try? await server.stop()
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: sink)
            if let failure { throw failure }
        }

        static func freezeWhileHandlersFinish(url: String, dataDirectory: String, sink: String) async throws {
            let migrated = try await CreditOpsProcess.run(["migrate"], environment: ["DATABASE_URL": url])
            #expect(migrated.status == 0, "\(migrated.stderr)")
            let client = PostgresClient(configuration: try DatabaseURL.configuration(url), backgroundLogger: silentLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
                // Handlers of 0.5 to 3 s: at any moment some are about to return.
                let ids = try await queue.enqueue(batch: (0..<jobs).map { index in
                    NewJob(kind: "fault.record", argsJSON: #"{"milliseconds": \#(500 + (index * 37) % 2500)}"#, queue: "faults", maxAttempts: 5)
                })
                let environment = ["DATABASE_URL": url, "FAULT_SINK": sink, "FAULT_CONCURRENCY": "\(concurrency)", "SWIFT_BACKTRACE": "enable=no"]
                let workers = try (0..<2).map { _ in
                    try CreditOpsProcess.start(executable: HandlerFaults.faultWorker, ["\(lease)"], environment: environment)
                }
                defer { for worker in workers { worker.kill(signal: SIGKILL); worker.removeOutput() } }
                #expect(try await eventually(timeout: .seconds(120)) { Self.returns(sink).count >= 40 }, "no handler returned")

                let frozen = signalServer(dataDirectory: dataDirectory, SIGSTOP)
                #expect(frozen > 1, "the postmaster and its backends were stopped")
                let returnedBefore = Self.returns(sink).count
                try await Task.sleep(for: .seconds(freezeSeconds))
                let returnedDuring = Self.returns(sink).count - returnedBefore
                signalServer(dataDirectory: dataDirectory, SIGCONT)
                let thawedAt = ContinuousClock.now

                let done = try await eventually(timeout: .seconds(300)) {
                    (try? await client.integer("SELECT count(*) FROM jobs WHERE kind = 'fault.record' AND state = 'completed'")) == ids.count
                }
                let doneAt = ContinuousClock.now
                #expect(done, "not every job completed after the freeze: \(workers.map { $0.stderr().suffix(2000) })")
                #expect(workers.allSatisfy { $0.process.isRunning }, "a worker exited while PostgreSQL was frozen")

                let returns = Self.returns(sink)
                var perJob: [Int64: Int] = [:]
                for (job, _) in returns { perJob[job, default: 0] += 1 }
                let repeated = perJob.filter { $0.value > 1 }
                if let first = repeated.keys.min() {
                    let errors = try await client.text("SELECT errors::text FROM jobs WHERE id = \(first)")
                    let logs = workers.map { String($0.stderr().suffix(6000)) }.joined(separator: "\n---\n")
                    Issue.record("\(repeated.count) jobs whose handler returned ran again: \(repeated.keys.sorted().prefix(20)); job \(first)'s errors: \(errors)\n\(logs)")
                }
                #expect(Set(perJob.keys) == Set(ids), "every job's handler returned once")
                // Handlers still running when their lease could not be renewed were stopped and ran
                // again (a failed attempt each); the rest completed on their first attempt.
                let stopped = try await client.integer(
                    "SELECT count(*) FROM jobs WHERE kind = 'fault.record' AND errors::text LIKE '%could not renew%'")
                let rescued = try await client.integer("SELECT count(*) FROM jobs WHERE errors::text LIKE '%vanished%'")
                ReliabilityReport.record("PostgreSQL frozen (SIGSTOP) for \(freezeSeconds) s", [
                    ("jobs", "\(ids.count)"), ("workers", "2 × concurrency \(concurrency), lease \(lease) s"),
                    ("handlers that returned while PostgreSQL was frozen", "\(returnedDuring)"),
                    ("jobs whose handler returned and ran again", "\(repeated.count)"),
                    ("handlers stopped for an unrenewable lease, run again", "\(stopped)"),
                    ("jobs rescued", "\(rescued)"),
                    ("all completed after the thaw", (doneAt - thawedAt).shown),
                ])
                let statuses = await workers.asyncMap { worker -> Int32 in
                    worker.kill(signal: SIGTERM)
                    return await worker.wait(timeout: .seconds(60)) ? worker.process.terminationStatus : -1
                }
                #expect(statuses == [0, 0], "the workers stop cleanly after the freeze")
            }
        }

        /// The sink's lines: (job, attempt) per handler that returned.
        static func returns(_ sink: String) -> [(Int64, Int)] {
            let text = (try? String(contentsOfFile: sink, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 2, let job = Int64(parts[0]), let attempt = Int(parts[1]) else { return nil }
                return (job, attempt)
            }
        }

        /// Sends `signal` to the server's postmaster and every process it started; returns how many.
        @discardableResult
        static func signalServer(dataDirectory: String, _ signal: Int32) -> Int {
            guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
                  let first = text.split(separator: "\n").first, let postmaster = pid_t(first.trimmingCharacters(in: .whitespaces))
            else { return 0 }
            let children = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { entry -> pid_t? in
                guard let pid = pid_t(entry),
                      let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return nil }
                // After "pid (comm)": state, then the parent's pid.
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 1 && pid_t(fields[1]) == postmaster ? pid : nil
            } ?? []
            // Stopped first, so that it starts no new backend; woken last.
            let order = signal == SIGSTOP ? [postmaster] + children : children + [postmaster]
            for pid in order { kill(pid, signal) }
            return order.count
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

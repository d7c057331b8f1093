import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// Jobs that wait for other jobs: a small workflow such as "rebuild the aggregates after these
/// imports, then tell the district".
@Suite struct DependenciesTests {
    @Test func aThreeStepChainRunsInOrderEachStepAfterItsDependenciesCompleted() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let log = EventLog()
            let registry = JobRegistry()
            registry.register(JobDefinition<Tagged>(kind: "step") { args, _ in
                log.append("start \(args.tag)")
                try await Task.sleep(for: .milliseconds(200))
                log.append("end \(args.tag)")
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            // Step 1: two imports; step 2: the rebuild waits for both; step 3: the notice waits for it.
            let imports = try await queue.enqueue(batch: [
                NewJob(kind: "step", argsJSON: #"{"tag": "import-1"}"#), NewJob(kind: "step", argsJSON: #"{"tag": "import-2"}"#),
            ])
            let rebuild = try await queue.enqueue(NewJob(kind: "step", argsJSON: #"{"tag": "rebuild"}"#, dependsOn: imports))
            let notice = try await queue.enqueue(NewJob(kind: "step", argsJSON: #"{"tag": "notice"}"#, dependsOn: [rebuild]))
            #expect(try await queue.job(id: rebuild).state == .waiting)
            #expect(try await queue.job(id: notice).dependsOn == [rebuild])
            #expect(try await queue.stats().first { $0.queue == "default" }?.waiting == 2)

            try await withRunningServices([fastMaintenance(client), worker(client, registry, queues: ["default": 4])]) {
                try await expectEventually { try await JobTable(client: client).count(.completed) == 4 }
            }
            let events = log.events
            #expect(events.count == 8)
            func index(_ event: String) -> Int { events.firstIndex(of: event) ?? -1 }
            // Each step starts only after every job it waits for ended.
            #expect(index("start rebuild") > index("end import-1"))
            #expect(index("start rebuild") > index("end import-2"))
            #expect(index("start notice") > index("end rebuild"))
            // The imports themselves did not wait for each other (four slots, both runnable at once).
            #expect(index("start import-2") < index("end import-1") || index("start import-1") < index("end import-2"))
        }
    }

    @Test func aFailedDependencyCancelsTheJobsWaitingForItAndARetryWaitsAgain() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let log = EventLog()
            let failing = Mutex(true)
            let registry = JobRegistry()
            registry.register(JobDefinition<Tagged>(kind: "step", maxAttempts: 1) { args, _ in
                log.append("run \(args.tag)")
                if args.tag == "import", failing.withLock({ $0 }) { throw TestFailure(description: "the file is malformed") }
            })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let parent = try await queue.enqueue(NewJob(kind: "step", argsJSON: #"{"tag": "import"}"#, maxAttempts: 1))
            let child = try await queue.enqueue(NewJob(kind: "step", argsJSON: #"{"tag": "rebuild"}"#, maxAttempts: 1, dependsOn: [parent]))
            let grandchild = try await queue.enqueue(NewJob(kind: "step", argsJSON: #"{"tag": "notice"}"#, maxAttempts: 1, dependsOn: [child]))

            try await withRunningServices([fastMaintenance(client), worker(client, registry)]) {
                try await expectEventually { try await JobTable(client: client).state(of: grandchild) == .cancelled }
                #expect(try await JobTable(client: client).state(of: parent) == .discarded)
                let childRecord = try await queue.job(id: child)
                #expect(childRecord.state == .cancelled)
                #expect(childRecord.errors.last?.error == "job \(parent), which this job depends on, was discarded")
                #expect(try await queue.job(id: grandchild).errors.last?.error == "job \(child), which this job depends on, was cancelled")
                #expect(log.events == ["run import"])

                // The import is fixed and retried; the rebuild, retried, waits for it and runs.
                failing.withLock { $0 = false }
                try await queue.retry(jobID: parent)
                try await expectEventually { try await JobTable(client: client).state(of: parent) == .completed }
                try await queue.retry(jobID: child)
                try await expectEventually { try await JobTable(client: client).state(of: child) == .completed }
            }
            #expect(log.events == ["run import", "run import", "run rebuild"])
            // The notice was cancelled and nobody retried it: it stays so.
            #expect(try await JobTable(client: client).state(of: grandchild) == .cancelled)
        }
    }

    @Test func aJobCannotDependOnAJobThatDoesNotExist() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let real = try await queue.enqueue(NewJob(kind: "noop"))
            let error = await #expect(throws: QueueError.self) {
                try await queue.enqueue(batch: [NewJob(kind: "noop", dependsOn: [real, 987_654])])
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.description == "a job cannot depend on job 987654: no such job")
            #expect(try await JobTable(client: client).count() == 1)
        }
    }

    @Test func aJobWhoseDependenciesAlreadyCompletedRunsAtOnce() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let log = EventLog()
            let registry = JobRegistry()
            registry.register(JobDefinition<Tagged>(kind: "step") { args, _ in log.append(args.tag) })
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            try await withRunningServices([fastMaintenance(client), worker(client, registry)]) {
                let first = try await queue.enqueue(NewJob(kind: "step", argsJSON: #"{"tag": "first"}"#))
                try await expectEventually { try await JobTable(client: client).state(of: first) == .completed }
                let second = try await queue.enqueue(NewJob(kind: "step", argsJSON: #"{"tag": "second"}"#, dependsOn: [first]))
                try await expectEventually { try await JobTable(client: client).state(of: second) == .completed }
            }
            #expect(log.events == ["first", "second"])
        }
    }
}

/// Events in the order handlers reported them.
final class EventLog: Sendable {
    private let entries = Mutex<[String]>([])
    func append(_ event: String) { entries.withLock { $0.append(event) } }
    var events: [String] { entries.withLock { $0 } }
}

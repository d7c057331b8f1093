import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

@Suite struct LeaderDutiesTests {
    @Test func catchUpEnqueuesOnlyTheLatestMissedPeriodAndNeverTwice() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let job = PeriodicJob(name: "daily-plan", schedule: .cron(try CronSchedule("0 7 * * *"))) { scheduledAt in
                NewJob(kind: "noop", argsJSON: #"{"for": \#(Int(scheduledAt.timeIntervalSince1970))}"#)
            }
            let clock = Mutex(try Date.ISO8601FormatStyle().parse("2026-11-20T01:00:00Z"))  // 08:00 in Hà Nội
            let scheduler = PeriodicScheduler(queue: queue, jobs: [job], logger: silentLogger) { clock.withLock { $0 } }
            let first = try await scheduler.enqueueDue()
            #expect(first.count == 1)

            // A week with nothing running: only the latest missed 07:00 is enqueued.
            clock.withLock { $0 = try! Date.ISO8601FormatStyle().parse("2026-11-27T03:00:00Z") }
            let caughtUp = try await scheduler.enqueueDue()
            #expect(caughtUp.count == 1)
            let record = try await queue.job(id: caughtUp["daily-plan"]!)
            #expect(record.uniqueKey == job.uniqueKey(for: try Date.ISO8601FormatStyle().parse("2026-11-27T00:00:00Z")))

            // Again, and from a second scheduler (another leader) at the same time: nothing more.
            let other = PeriodicScheduler(queue: queue, jobs: [job], logger: silentLogger) { clock.withLock { $0 } }
            async let again = scheduler.enqueueDue()
            async let fromOther = other.enqueueDue()
            let (a, b) = try await (again, fromOther)
            #expect(a.isEmpty && b.isEmpty)
            #expect(try await JobTable(client: client).count() == 2)
            let periodic = try await queue.periodicJobs()
            #expect(periodic.map(\.name) == ["daily-plan"])
            #expect(periodic.first?.nextRunAt == (try Date.ISO8601FormatStyle().parse("2026-11-28T00:00:00Z")))
        }
    }

    @Test func oneLeaderAtATimeAndASuccessorAfterResignation() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let queue = JobQueue(client: client, registry: JobRegistry(), logger: silentLogger)
            let config = LeaderElection.Configuration(ttl: .seconds(3), retryInterval: .milliseconds(200))
            let first = LeaderElection(client: client, candidateID: "first", duties: [], configuration: config, logger: silentLogger)
            let second = LeaderElection(client: client, candidateID: "second", duties: [], configuration: config, logger: silentLogger)
            try await withRunningServices([second]) {
                try await withRunningServices([first]) {
                    try await expectEventually { first.isLeader || second.isLeader }
                    #expect(first.isLeader != second.isLeader)
                }
                // `first` shut down (resigning if it led): `second` leads soon after.
                try await expectEventually(timeout: .seconds(5)) { second.isLeader }
                #expect(try await queue.leader()?.id == "second")
            }
            #expect(try await queue.leader() == nil)
        }
    }

    @Test func pruningKeepsTheTableBoundedUnderSteadyLoad() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let registry = JobRegistry()
            let queue = JobQueue(client: client, registry: registry, logger: silentLogger)
            let pruner = JobPruner(
                client: client, configuration: .init(completedRetention: .seconds(5), interval: .seconds(1)), logger: silentLogger)
            let election = LeaderElection(
                client: client, candidateID: "pruner", duties: [pruner.duty],
                configuration: .init(ttl: .seconds(3), retryInterval: .milliseconds(200)), logger: silentLogger)
            let sizes = Mutex<[Int]>([])
            let seconds = 120
            try await withRunningServices([election, worker(client, registry)]) {
                let started = ContinuousClock.now
                // 100 jobs a second, 10 every 100 ms, for two minutes.
                for tick in 0..<(seconds * 10) {
                    try await Task.sleep(until: started + .milliseconds(100 * tick), clock: .continuous)
                    try await queue.enqueue(batch: (0..<10).map { _ in NewJob(kind: "noop") })
                    if tick % 10 == 0 {
                        let size = try await JobTable(client: client).count()
                        sizes.withLock { $0.append(size) }
                    }
                }
            }
            let observed = sizes.withLock { $0 }
            let enqueued = seconds * 100
            let largest = observed.max() ?? 0
            print("jobs table rows during \(seconds) s at 100 jobs/s with 5 s retention: max \(largest), last \(observed.last ?? 0), enqueued \(enqueued)")
            // Without pruning the table would reach 12,000 rows. With it: retention (5 s) plus a
            // pruning interval (1 s) of jobs, about 600 rows on an idle machine; when the other
            // suites load both cores, workers and pruner lag and it has reached 1,569. Bounded
            // means far below the total, all along and at the end: under 30 s of jobs.
            #expect(largest < 3_000)
            #expect(observed.suffix(30).allSatisfy { $0 < 3_000 })
        }
    }
}

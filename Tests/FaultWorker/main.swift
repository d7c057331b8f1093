// A worker process whose job handlers misbehave on purpose, for ReliabilityTests: one runs past
// its time-out, one crashes the whole process; a third records each return in a file (the sink
// of the freeze test), since a handler that touches nothing but that file can return while
// PostgreSQL is frozen. A test fixture, never shipped: CreditOps' own
// kinds have no way to crash their worker, and an operator must not be able to enqueue one that does.
//
// Usage: fault-worker LEASE_SECONDS (DATABASE_URL in the environment; FAULT_SINK names the file
// `fault.record` appends to, FAULT_CONCURRENCY the jobs it runs at once, default 4). It works the `faults`
// queue, takes the leader duties that rescue expired leases, and stops on SIGTERM.
import CreditWorkers
import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

/// Misbehave on attempts up to `failingAttempts`, then succeed.
struct Misbehaviour: Codable, Sendable {
    var failingAttempts: Int
}

let slow = JobDefinition<Misbehaviour>(
    kind: "fault.slow", queue: "faults", maxAttempts: 5, timeout: .seconds(1),
    retryPolicy: RetryPolicy(base: .milliseconds(200), jitter: 0)
) { args, context in
    guard context.attempt > args.failingAttempts else {
        // Honours cancellation, as every handler must: the time-out ends it after one second.
        try await Task.sleep(for: .seconds(60))
        return
    }
}

let crash = JobDefinition<Misbehaviour>(kind: "fault.crash", queue: "faults", maxAttempts: 5) { args, context in
    guard context.attempt > args.failingAttempts else {
        fatalError("fault.crash: crashing the worker process on purpose (job \(context.jobID), attempt \(context.attempt))")
    }
}

/// Sleeps, then appends "JOB ATTEMPT" to the sink file and returns.
struct Record: Codable, Sendable {
    var milliseconds: Int
}

let record = JobDefinition<Record>(kind: "fault.record", queue: "faults", maxAttempts: 5) { args, context in
    try await Task.sleep(for: .milliseconds(args.milliseconds))
    let path = ProcessInfo.processInfo.environment["FAULT_SINK"] ?? ""
    let descriptor = open(path, O_WRONLY | O_APPEND)
    guard descriptor >= 0 else { throw JobFailure.discard("FAULT_SINK '\(path)' is not a writable file") }
    defer { close(descriptor) }
    // One write of one short line with O_APPEND: lines of several processes never interleave.
    let line = Array("\(context.jobID) \(context.attempt)\n".utf8)
    guard write(descriptor, line, line.count) == line.count else { throw JobFailure.discard("writing to FAULT_SINK failed") }
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .info
    return handler
}
let logger = Logger(label: "fault-worker")
let arguments = CommandLine.arguments
guard arguments.count == 2, let leaseSeconds = Double(arguments[1]),
      let url = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
    FileHandle.standardError.write(Data("usage: DATABASE_URL=… fault-worker LEASE_SECONDS\n".utf8))
    exit(64)
}
let client = PostgresClient(configuration: try DatabaseURL.configuration(url), backgroundLogger: Logger(label: "postgres") { _ in SwiftLogNoOpLogHandler() })
let registry = JobRegistry()
registry.register(slow)
registry.register(crash)
registry.register(record)
let concurrency = ProcessInfo.processInfo.environment["FAULT_CONCURRENCY"].flatMap(Int.init) ?? 4
let lease = Duration.milliseconds(Int64(leaseSeconds * 1000))
let worker = WorkerService(
    client: client, registry: registry,
    configuration: .init(queues: ["faults": concurrency], pollInterval: .milliseconds(200), leaseDuration: lease), logger: logger)
let maintenance = QueueMaintenanceService(client: client, configuration: .init(rescueInterval: .milliseconds(500)), logger: logger)
let leader = LeaderElection(
    client: client, candidateID: worker.configuration.workerID, duties: [maintenance.rescueDuty],
    configuration: .init(ttl: .seconds(2), retryInterval: .milliseconds(500)), logger: logger)
let group = ServiceGroup(configuration: .init(
    services: [client, maintenance, leader, worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
try await group.run()

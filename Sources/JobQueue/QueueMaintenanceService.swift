public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Keeps the queue moving: makes scheduled and retryable jobs runnable when their time comes,
/// releases waiting jobs whose dependencies completed (and cancels those whose dependencies
/// failed), and publishes queue depths. Every worker process runs it (each statement claims its rows with
/// `SKIP LOCKED`, so nothing is done twice), so scheduled jobs start on time even while the
/// leader is being replaced. The rescue of jobs whose worker vanished is a leader duty:
/// ``rescueDuty``.
public struct QueueMaintenanceService: Service {
    /// How often maintenance runs.
    public struct Configuration: Sendable {
        /// The longest a due scheduled or retryable job waits to become runnable. Default: 1 second.
        public var promoteInterval: Duration
        /// How often the leader looks for expired leases. Default: 5 seconds.
        public var rescueInterval: Duration
        /// The most rows one statement changes, so no statement holds locks for long. Default: 1000.
        public var batchSize: Int
        /// A rescue that finds the previous one (by any leader) longer ago than this does not take
        /// the jobs whose lease ran out in between: it gives them a fresh lease instead. A gap that
        /// long means PostgreSQL was frozen or unreachable, or the leader stalled or changed: the
        /// workers could not renew meanwhile, and a finished job's outcome may still be on its way,
        /// so a lease that expired then proves nothing. Keep it below two thirds of the shortest
        /// lease. Default: twice ``rescueInterval``, at least 1 second.
        public var rescueGap: Duration
        /// Starts the names of the queue-depth gauges. Default: `jobqueue_`.
        public var metricsPrefix: String

        /// Creates a configuration; every parameter has the default stated on its property.
        public init(
            promoteInterval: Duration = .seconds(1), rescueInterval: Duration = .seconds(5), batchSize: Int = 1000,
            rescueGap: Duration? = nil, metricsPrefix: String = "jobqueue_"
        ) {
            self.metricsPrefix = metricsPrefix
            self.promoteInterval = promoteInterval
            self.rescueInterval = rescueInterval
            self.batchSize = batchSize
            self.rescueGap = rescueGap ?? max(rescueInterval * 2, .seconds(1))
        }
    }

    let client: PostgresClient
    let configuration: Configuration
    let logger: Logger
    /// Queues whose gauges were published, so that one that empties is set back to 0.
    let published = PublishedQueues()

    /// Creates the service; nothing runs until `run()`.
    public init(client: PostgresClient, configuration: Configuration = .init(), logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        var sinceDepths = Duration.seconds(5)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await promoteDue()
                try await settleDependencies()
                if sinceDepths >= .seconds(5) {
                    sinceDepths = .zero
                    try await publishDepths()
                }
            } catch {
                logger.warning("Queue maintenance failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.promoteInterval) }
            sinceDepths += configuration.promoteInterval
        }
    }

    /// The rescue of jobs whose worker vanished, every ``Configuration/rescueInterval``: a duty
    /// for the ``LeaderElection``.
    public var rescueDuty: LeaderDuty {
        .every(configuration.rescueInterval, name: "rescue", logger: logger) { try await rescueExpired() }
    }
}

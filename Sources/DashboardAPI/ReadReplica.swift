import Foundation
package import JobQueue
public import Logging
import Metrics
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// Where the dashboards, the read API and the exports read (`DATABASE_READ_URL`): a streaming
/// replica while it is at most ``Configuration/maxLag`` behind, else the primary. Writes, `/ops`,
/// sign-ins and the audit trail never come here.
///
/// A service that runs the replica's client: it asks the replica how far behind it is every
/// ``Configuration/checkInterval`` and keeps the answer, so that no request waits for the check, and it reports the lag as the gauge
/// `creditops_read_replica_lag_seconds` (-1 while the replica cannot be reached).
public final class ReadReplica: Service, Sendable {
    public struct Configuration: Sendable {
        /// Past this lag the primary answers instead (`DATABASE_READ_MAX_LAG_SECONDS`). Default: 30 s.
        public var maxLag: Duration
        /// How often the lag is measured. Default: 1 s.
        public var checkInterval: Duration
        /// How long a check may wait for the replica before it counts as unreachable. Default: 3 s.
        public var checkTimeout: Duration
        /// How long one request's reads may wait for the replica before the primary answers
        /// instead: a replica gone since the last check leaves queries waiting for a connection,
        /// not failing. Default: 5 s.
        public var readTimeout: Duration

        public init(
            maxLag: Duration = .seconds(30), checkInterval: Duration = .seconds(1), checkTimeout: Duration = .seconds(3),
            readTimeout: Duration = .seconds(5)
        ) {
            self.maxLag = maxLag
            self.checkInterval = checkInterval
            self.checkTimeout = checkTimeout
            self.readTimeout = readTimeout
        }
    }

    /// What the last check found.
    public enum Status: Sendable, Equatable {
        /// Not measured yet: reads go to the primary until the first check.
        case unknown
        /// The replica answered; its figures are `lag` seconds old (0 when it has replayed all it received).
        case lagging(seconds: Double)
        /// The replica did not answer the check.
        case unreachable(String)
    }

    /// Where one request reads, and how old what it reads may be.
    public struct Source: Sendable {
        public let client: PostgresClient
        /// Seconds the figures lag behind the primary: nil when reading from the primary.
        public let lagSeconds: Double?
        /// The primary, when `client` is the replica, and how long to wait for the replica.
        let fallback: (primary: PostgresClient, after: Duration)?

        /// Reads from the primary.
        public init(primary: PostgresClient) {
            self.init(client: primary, lagSeconds: nil, fallback: nil)
        }

        init(client: PostgresClient, lagSeconds: Double?, fallback: (primary: PostgresClient, after: Duration)?) {
            self.client = client
            self.lagSeconds = lagSeconds
            self.fallback = fallback
        }

        /// Runs `body` on the replica and, should the replica fail it or not answer in time (gone
        /// since the last check, or a query cancelled for a conflict with the replay), once more on
        /// the primary: a reader gets the page either way. `lagSeconds` is nil on the primary.
        public func read<T: Sendable>(
            _ body: @escaping @Sendable (_ client: PostgresClient, _ lagSeconds: Double?) async throws -> T
        ) async throws -> T {
            guard let fallback else { return try await body(client, lagSeconds) }
            let replica = client, lagSeconds = lagSeconds
            do {
                return try await withDeadline(fallback.after, "reading from the replica") { try await body(replica, lagSeconds) }
            } catch let error as QueueError where error.code == .timedOut {
                return try await body(fallback.primary, nil)
            } catch is PSQLError {
                return try await body(fallback.primary, nil)
            }
        }
    }

    public let primary: PostgresClient
    public let replica: PostgresClient
    public let configuration: Configuration
    private let logger: Logger
    private let status = Mutex(Status.unknown)
    private let lagGauge = Gauge(label: "creditops_read_replica_lag_seconds")

    public init(primary: PostgresClient, replica: PostgresClient, configuration: Configuration = .init(), logger: Logger) {
        self.primary = primary
        self.replica = replica
        self.configuration = configuration
        self.logger = logger
    }

    /// The last check's finding.
    public var current: Status { status.withLock { $0 } }

    /// The replica while it is close enough behind, else `primary`: the client the caller writes
    /// with (after an outage the API's is a fresh one, see ``PoolRenewal``; the lag check keeps ``primary``).
    public func source(primary: PostgresClient) -> Source {
        switch current {
        case .lagging(let seconds) where seconds <= configuration.maxLag.seconds:
            return Source(client: replica, lagSeconds: seconds, fallback: (primary, configuration.readTimeout))
        default:
            return Source(primary: primary)
        }
    }

    /// One line for `/readyz`: where reads go and why.
    public var summary: String {
        let limit = Int(configuration.maxLag.seconds)
        switch current {
        case .unknown:
            return "read replica: not checked yet, reading from the primary"
        case .lagging(let seconds) where seconds <= configuration.maxLag.seconds:
            return "read replica: lag \(String(format: "%.1f", seconds)) s, reading from the replica"
        case .lagging(let seconds):
            return "read replica: lag \(String(format: "%.1f", seconds)) s (over \(limit) s), reading from the primary"
        case .unreachable(let reason):
            return "read replica: unreachable (\(reason)), reading from the primary"
        }
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.replica.run() }
            await measure()
            group.cancelAll()
        }
    }

    private func measure() async {
        // The last time the replica had replayed all it had received, on this process's clock: a
        // replica that just received a commit after a quiet hour has not fallen an hour behind.
        var caughtUpAt: ContinuousClock.Instant?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let found = await check(caughtUpAt: &caughtUpAt)
            let previous = status.withLock { status in
                defer { status = found }
                return status
            }
            if case .lagging(let seconds) = found { lagGauge.record(seconds) } else { lagGauge.record(-1) }
            if Self.usesReplica(found, maxLag: configuration.maxLag) != Self.usesReplica(previous, maxLag: configuration.maxLag) {
                logger.notice("Dashboard reads moved", metadata: ["reads": "\(summary)"])
            }
            try? await Task.sleep(for: configuration.checkInterval)
        }
    }

    private static func usesReplica(_ status: Status, maxLag: Duration) -> Bool {
        if case .lagging(let seconds) = status { return seconds <= maxLag.seconds }
        return false
    }

    private func check(caughtUpAt: inout ContinuousClock.Instant?) async -> Status {
        let replica = replica, logger = logger
        do {
            let reading = try await withDeadline(configuration.checkTimeout, "measuring the read replica's lag") {
                let rows = try await replica.query(
                    """
                    SELECT pg_is_in_recovery(),
                           EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE coalesce(status, 'streaming') = 'streaming')
                               AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),
                           coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8
                    """, logger: logger)
                for try await row in rows.decode((Bool, Bool, Double).self) { return row }
                return (false, true, 0)
            }
            let (recovering, caughtUp, sinceLastReplayed) = reading
            let now = ContinuousClock.now
            guard recovering else { return .lagging(seconds: 0) }  // promoted, or a primary named as the replica
            if caughtUp {
                caughtUpAt = now
                return .lagging(seconds: 0)
            }
            let sinceCaughtUp = caughtUpAt.map { (now - $0).seconds } ?? sinceLastReplayed
            return .lagging(seconds: max(0, min(sinceLastReplayed, sinceCaughtUp)))
        } catch {
            return .unreachable(String(describing: error).prefix(200).description)
        }
    }
}

public import Logging
import Metrics
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// Something exactly one process at a time must do (schedule periodic jobs, rescue, prune). It
/// runs while its process leads and is cancelled the moment leadership is lost.
public struct LeaderDuty: Sendable {
    /// For logs.
    public let name: String
    /// Loops until cancelled; handles its own errors.
    public let run: @Sendable () async -> Void

    /// Creates a duty.
    public init(name: String, run: @escaping @Sendable () async -> Void) {
        self.name = name
        self.run = run
    }

    /// A duty that runs `body` every `interval`, logging a failure and trying again next time.
    public static func every(
        _ interval: Duration, name: String, logger: Logger, _ body: @escaping @Sendable () async throws -> Void
    ) -> LeaderDuty {
        LeaderDuty(name: name) {
            while !Task.isCancelled {
                do {
                    try await body()
                } catch {
                    logger.warning("Leader duty failed; retrying", metadata: ["duty": "\(name)", "error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// Elects one leader among every process sharing the database and runs the leader duties there.
///
/// The leader holds a row in `queue_leaders` with an expiry it renews every third of
/// ``Configuration/ttl``. Followers try to take an expired row every ``Configuration/retryInterval``,
/// so a dead leader (killed, cut off, its connection dropped) is replaced within
/// `ttl + retryInterval`. A leader whose renewal fails or takes too long stops its duties at once,
/// before its row can expire, so two leaders never act together for long; and every duty is
/// written so that even then nothing is done twice.
public final class LeaderElection: Service, Sendable {
    /// Timing of the election.
    public struct Configuration: Sendable {
        /// How long a leader's claim lasts without renewal. Default: 10 seconds.
        public var ttl: Duration
        /// How often a follower tries to become leader. Default: 2 seconds.
        public var retryInterval: Duration
        /// The election's name, so that separate deployments may share a database. Default: `default`.
        public var name: String
        /// Starts the name of the `leader` gauge. Default: `jobqueue_`.
        public var metricsPrefix: String

        /// Creates a configuration; every parameter has the default stated on its property.
        public init(ttl: Duration = .seconds(10), retryInterval: Duration = .seconds(2), name: String = "default",
                    metricsPrefix: String = "jobqueue_") {
            self.metricsPrefix = metricsPrefix
            self.ttl = ttl
            self.retryInterval = retryInterval
            self.name = name
        }
    }

    private let client: PostgresClient
    private let candidateID: String
    private let duties: [LeaderDuty]
    private let configuration: Configuration
    private let logger: Logger
    private let leading = Atomic<Bool>(false)

    /// Creates the election; nothing runs until `run()`.
    /// - Parameter candidateID: this process's id, e.g. its worker id.
    public init(client: PostgresClient, candidateID: String, duties: [LeaderDuty], configuration: Configuration = .init(), logger: Logger) {
        self.client = client
        self.candidateID = candidateID
        self.duties = duties
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "leader.candidate"] = "\(candidateID)"
        self.logger = logger
    }

    /// Whether this process leads now.
    public var isLeader: Bool { leading.load(ordering: .acquiring) }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if await tryToLead() {
                leading.store(true, ordering: .releasing)
                logger.info("Became leader")
                await lead()
                leading.store(false, ordering: .releasing)
                logger.info("No longer leader")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.configuration.retryInterval) }
        }
        await resign()
    }

    /// Takes the leader row if it is free, expired or already ours.
    private func tryToLead() async -> Bool {
        do {
            return try await withDeadline(StatementDeadline.standard, "taking leadership") { [client, configuration, candidateID, logger] in
                let rows = try await client.query(
                    """
                    INSERT INTO queue_leaders (name, leader_id, expires_at)
                    VALUES (\(configuration.name), \(candidateID), now() + \(configuration.ttl.seconds) * interval '1 second')
                    ON CONFLICT (name) DO UPDATE SET leader_id = excluded.leader_id, elected_at = now(), expires_at = excluded.expires_at
                    WHERE queue_leaders.expires_at < now() OR queue_leaders.leader_id = excluded.leader_id
                    RETURNING leader_id
                    """, logger: logger)
                for try await _ in rows { return true }
                return false
            }
        } catch {
            logger.debug("Leader election attempt failed", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
    }

    /// Runs the duties while renewals succeed; returns when leadership is lost or on shutdown.
    private func lead() async {
        // 1 while this process leads: the sum over processes is 1, and 0 means nobody plans,
        // rescues or prunes (an alert in deploy/prometheus/alerts.yml).
        let gauge = Gauge(label: configuration.metricsPrefix + "leader", dimensions: [("election", configuration.name)])
        gauge.record(1)
        defer { gauge.record(0) }
        await withTaskGroup(of: Void.self) { group in
            for duty in duties {
                group.addTask { await duty.run() }
            }
            group.addTask { await self.keepRenewing() }
            // The renewal loop is the only child that ends by itself: when it does, leadership is
            // over and the duties are cancelled at once.
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func keepRenewing() async {
        let interval = configuration.ttl / 3
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            // A renewal that cannot finish well within the TTL counts as lost: better no leader
            // for a moment than two.
            let renewed = (try? await withDeadline(interval, "renewing leadership") { await self.renew() }) ?? false
            guard renewed else {
                logger.warning("Leadership lost: renewal failed or timed out")
                return
            }
        }
    }

    private func renew() async -> Bool {
        do {
            let rows = try await client.query(
                """
                UPDATE queue_leaders SET expires_at = now() + \(configuration.ttl.seconds) * interval '1 second'
                WHERE name = \(configuration.name) AND leader_id = \(candidateID)
                RETURNING leader_id
                """, logger: logger)
            for try await _ in rows { return true }
            return false
        } catch {
            return false
        }
    }

    /// Gives up the row on shutdown so that another process takes over at its next try.
    private func resign() async {
        _ = try? await withDeadline(StatementDeadline.standard, "resigning leadership") { [client, configuration, candidateID, logger] in
            _ = try await client.query(
                "DELETE FROM queue_leaders WHERE name = \(configuration.name) AND leader_id = \(candidateID)", logger: logger)
        }
    }
}

public import Hummingbird
package import JobQueue
public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// Serves the API from a fresh connection pool once PostgreSQL is back after an outage.
///
/// PostgresNIO's pool, once a connection attempt has failed, retries one attempt at a time with a
/// back-off that grows by a quarter each time (100 ms × 1.25ⁿ) and that nothing can reset; a new
/// request does not start an attempt of its own. After ten or twenty seconds away the next attempt
/// is 3–6 s off, so the API stayed on 503 that long after the server was back (4.3 s in CI), or
/// came back at once when the schedule happened to line up (a strace of `serve` showed the
/// attempts 0.6, 0.75, 0.96 … 3.5 s apart). When ``DatabaseAvailability``'s probe finds the
/// server back after seeing it down, this starts a new client, waits until it answers (the probe
/// only shows that the server accepts connections: during crash recovery it still refuses
/// sessions), builds the routes again on it and lets requests through.
///
/// A replaced client keeps serving the requests it has for ``retirement``, then shuts down; the
/// process's first client stays with its other users (workers, the leader, the replica's lag
/// check), which only wait for its next attempt. The routes' results reused for a second start
/// afresh with the new routes; the counts of failed logins are the server's and stay.
public final class PoolRenewal: Service {
    let server: DashboardServer
    let availability: DatabaseAvailability
    let makeClient: @Sendable () -> PostgresClient
    let logger: Logger
    /// How long a replaced client stays up for the requests it was serving: long enough for
    /// any that got an answer from the server to finish (a request stuck longer is cut by it).
    static let retirement: Duration = .seconds(60)
    /// How long a new client may take to answer `SELECT 1`, and how long the renewal tries
    /// new ones (each starting without back-off) before it serves with the last anyway.
    static let firstAnswer: Duration = .seconds(2)
    static let answerLimit: Duration = .seconds(120)
    private let current: Mutex<RouterResponder<CreditOpsRequestContext>>

    /// `makeClient`: a new client on the primary, like the process's first (not yet running).
    public init(server: DashboardServer, availability: DatabaseAvailability, logger: Logger,
                makeClient: @escaping @Sendable () -> PostgresClient) {
        self.server = server
        self.availability = availability
        self.makeClient = makeClient
        self.logger = logger
        current = Mutex(server.router().buildResponder())
    }

    /// What the HTTP server answers with: always the routes on the newest pool.
    public var responder: Responder { Responder(renewal: self) }

    public struct Responder: HTTPResponder {
        let renewal: PoolRenewal

        public func respond(to request: Request, context: CreditOpsRequestContext) async throws -> Response {
            let routes = renewal.current.withLock { $0 }
            return try await routes.respond(to: request, context: context)
        }
    }

    public func run() async throws {
        let returns = availability.renewsThePool()
        await withDiscardingTaskGroup { group in
            var retireServing: AsyncStream<Duration>.Continuation?
            for await _ in returns.cancelOnGracefulShutdown() {
                let deadline = ContinuousClock.now + Self.answerLimit
                var (client, retire) = start(in: &group)
                while await !answers(client), ContinuousClock.now < deadline, !Task.isShuttingDownGracefully {
                    retire.yield(.zero)
                    try? await Task.sleep(for: .milliseconds(500))
                    (client, retire) = start(in: &group)
                }
                var renewed = server
                renewed.client = client
                let routes = renewed.router().buildResponder()
                current.withLock { $0 = routes }
                availability.poolRenewed()
                retireServing?.yield(Self.retirement)
                retireServing = retire
                logger.notice("PostgreSQL is back: the API uses a fresh connection pool")
            }
            group.cancelAll()
        }
    }

    /// A new client, running in `group` until it is told (by `retire`) how long it still has,
    /// or the service stops.
    private func start(in group: inout DiscardingTaskGroup) -> (PostgresClient, retire: AsyncStream<Duration>.Continuation) {
        let client = makeClient()
        let (retired, retire) = AsyncStream<Duration>.makeStream()
        group.addTask {
            await withTaskGroup(of: Void.self) { lifetime in
                lifetime.addTask { await client.run() }
                lifetime.addTask {
                    var grace = Duration.zero
                    for await after in retired {
                        grace = after
                        break
                    }
                    try? await Task.sleep(for: grace)
                }
                // Either ends it: the service stops (both see cancellation), or its grace is over.
                await lifetime.next()
                lifetime.cancelAll()
            }
        }
        return (client, retire)
    }

    private func answers(_ client: PostgresClient) async -> Bool {
        do {
            try await withDeadline(Self.firstAnswer, "the fresh pool's first query") {
                try await client.query("SELECT 1", logger: self.logger)
            }
            return true
        } catch {
            return false
        }
    }
}

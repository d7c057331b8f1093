public import Hummingbird
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
/// server back, this builds the routes again on a new client, which connects on the first request.
///
/// A replaced client keeps serving the requests it has for ``retirement``, then shuts down; the
/// process's first client stays with its other users (workers, the leader), which only wait for
/// its next attempt. The routes' short-lived state (results reused for a second, counts of
/// failed logins) starts afresh with the new routes.
public final class PoolRenewal: Service {
    let server: DashboardServer
    let availability: DatabaseAvailability
    let makeClient: @Sendable () -> PostgresClient
    let logger: Logger
    /// How long a replaced client stays up for the requests it was serving: past the
    /// longest a request may wait (``DatabaseUnavailableMiddleware``'s limit).
    static let retirement: Duration = .seconds(60)
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
        await withDiscardingTaskGroup { group in
            var retireLast: AsyncStream<Void>.Continuation?
            for await _ in availability.returns.cancelOnGracefulShutdown() {
                let client = makeClient()
                let (retired, retire) = AsyncStream<Void>.makeStream()
                group.addTask {
                    await withTaskGroup(of: Void.self) { lifetime in
                        lifetime.addTask { await client.run() }
                        lifetime.addTask {
                            for await _ in retired {}
                            try? await Task.sleep(for: Self.retirement)
                        }
                        // Either ends it: the service stops (both see cancellation), or it was retired.
                        await lifetime.next()
                        lifetime.cancelAll()
                    }
                }
                var renewed = server
                renewed.client = client
                let routes = renewed.router().buildResponder()
                current.withLock { $0 = routes }
                retireLast?.finish()
                retireLast = retire
                logger.notice("PostgreSQL is back: the API uses a fresh connection pool")
            }
            retireLast?.finish()
            group.cancelAll()
        }
    }
}

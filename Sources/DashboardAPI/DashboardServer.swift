import CreditWorkers
import CreditDomain
import Foundation
public import Hummingbird
public import JobQueue
public import Logging
import Metrics
public import PostgresNIO
public import Prometheus

/// The HTTP side of CreditOps (DESIGN.md "HTTP"): the JSON API, the HTML dashboard per unit,
/// `/metrics`, `/healthz` and `/readyz`.
public struct DashboardServer: Sendable {
    /// The primary. A var: after an outage ``PoolRenewal`` builds the routes again on a fresh client.
    public var client: PostgresClient
    public let registry: JobRegistry
    public let prometheus: PrometheusCollectorRegistry
    public let logger: Logger
    /// Security settings that come from the command line and the environment.
    public let security: Security
    /// Failed authentications by address: one count for the process, kept when ``PoolRenewal``
    /// builds the routes again after an outage.
    let failedAuthentications: FailedAuthenticationLimiter

    public struct Security: Sendable {
        /// Cookies get `Secure`: the server runs TLS, or `CREDITOPS_PUBLIC_URL` is https.
        public var secureCookies: Bool
        /// When set, `/metrics` needs `Authorization: Bearer` with it (`CREDITOPS_METRICS_TOKEN`).
        public var metricsToken: String?
        /// Failed authentications an address may make in a minute before it gets 429.
        public var failedAuthenticationLimit: Int

        public init(secureCookies: Bool = false, metricsToken: String? = nil, failedAuthenticationLimit: Int = 30) {
            self.secureCookies = secureCookies
            self.metricsToken = metricsToken
            self.failedAuthenticationLimit = failedAuthenticationLimit
        }
    }

    /// The health of the workers running in this process (`creditops run`, `demo`): `/readyz`
    /// answers 503 while one is unhealthy, so that an orchestrator restarts the process.
    public var workers: [WorkerService] = []

    /// How long a unit's dashboard data and summary may be reused for other requests (see
    /// ``RecentResults``): the figures themselves are recomputed within a second of a change, and
    /// this process's own writes are shown at once. Zero reads afresh every time.
    public var resultLifetime: Duration = .seconds(1)

    /// Where the dashboards, the read API and the exports read (`DATABASE_READ_URL`); nil: the
    /// primary, like everything else. Run it as a service beside the server: it measures the lag.
    public var readReplica: ReadReplica?

    /// Where the primary listens, probed while a request found it away (see
    /// ``DatabaseAvailability``); nil: each request tries it.
    public var databaseAvailability: DatabaseAvailability?

    /// The periodic jobs this deployment schedules, for `/ops`' "run now" (matched by name).
    public var periodicJobs: [PeriodicJob] = []

    /// `prometheus` is the registry the process's metrics go to (see `MetricsSystem.bootstrap`).
    public init(client: PostgresClient, registry: JobRegistry, prometheus: PrometheusCollectorRegistry, logger: Logger,
                security: Security = .init()) {
        self.client = client
        self.registry = registry
        self.prometheus = prometheus
        self.logger = logger
        self.security = security
        failedAuthentications = FailedAuthenticationLimiter(limit: security.failedAuthenticationLimit)
    }

    public func router() -> Router<CreditOpsRequestContext> {
        let router = Router(context: CreditOpsRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: DatabaseUnavailableMiddleware(availability: databaseAvailability))
        let routeTable = RouteTable()
        router.add(middleware: NotFoundMiddleware(routes: routeTable))
        let authenticator = Authenticator(
            client: client, logger: logger, secureCookies: security.secureCookies, limiter: failedAuthentications)
        let permissions = Permissions(client: client, logger: logger)
        let audit = AuditLog(client: client, logger: logger)
        let units = UnitLookup(client: client, logger: logger)
        let queue = JobQueue(client: client, registry: registry, logger: logger)
        let caches = DashboardCaches(lifetime: resultLifetime)
        router.add(middleware: ForgetAfterWritesMiddleware(caches: caches))
        let client = client, logger = logger, prometheus = prometheus, metricsToken = security.metricsToken, workers = workers, secureCookies = security.secureCookies
        let readReplica = readReplica
        let reads: @Sendable () -> ReadReplica.Source = { readReplica?.source(primary: client) ?? ReadReplica.Source(primary: client) }

        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/readyz") { _, _ -> Response in
            do {
                let version = try await SchemaMigrator(client: client, logger: logger).currentVersion()
                guard version == Schema.latestVersion else {
                    return Self.plain(.serviceUnavailable, "schema version \(version), this binary needs \(Schema.latestVersion): run creditops migrate\n")
                }
                let queueVersion = try await JobQueue.schema.currentVersion(client, logger: logger)
                guard queueVersion == JobQueue.schema.latestVersion else {
                    return Self.plain(
                        .serviceUnavailable, "queue schema version \(queueVersion), this binary needs \(JobQueue.schema.latestVersion): run creditops migrate\n")
                }
                for worker in workers {
                    if case .unhealthy(let reason) = worker.health { return Self.plain(.serviceUnavailable, "worker: \(reason)\n") }
                }
                // A lagging or lost replica is no reason to restart: the primary answers meanwhile.
                return Self.plain(.ok, "ready\n" + (readReplica.map { $0.summary + "\n" } ?? ""))
            } catch {
                return Self.plain(.serviceUnavailable, "database not reachable\n")
            }
        }
        router.get("/metrics") { request, _ -> Response in
            if let metricsToken, Authenticator.bearerToken(of: request).map({ Self.constantTimeEquals($0, metricsToken) }) != true {
                throw HTTPError(.unauthorized, message: "/metrics needs Authorization: Bearer with CREDITOPS_METRICS_TOKEN")
            }
            var buffer: [UInt8] = []
            prometheus.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }

        let api = router.group("api/v1")
        api.get("units/:code/coverage") { request, context -> UnitFigures in
            let scope = try await authenticator.principal(of: request, context: context).scope
            let year = try yearParameter(request)
            let unit = try await units.unit(code: try context.decodedParameter("code"), scope: scope)
            let read = try await reads().read { client, _ in try await AggregateReader(client: client, logger: logger).unit(code: unit.code, year: year) }
            guard let figures = read else {
                throw HTTPError(.notFound, message: "unknown unit \(unit.code)")
            }
            return figures
        }
        api.get("units/:code/summary") { request, context -> Response in
            let scope = try await authenticator.principal(of: request, context: context).scope
            let code = try context.decodedParameter("code")
            let json = try await reads().read { client, _ in
                try await UnitSummary.json(code: code, scope: scope, client: client, logger: logger, recent: caches.summaries)
            }
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        QueueRoutes(authenticator: authenticator, permissions: permissions, queue: queue, registry: registry, audit: audit).add(to: api)

        DashboardRoutes(authenticator: authenticator, audit: audit, client: client, reads: reads, logger: logger, secureCookies: secureCookies, caches: caches)
            .add(to: router)
        RecordRoutes(authenticator: authenticator, audit: audit, units: units, client: client, registry: registry, logger: logger, caches: caches)
            .add(to: router)
        LoginRoutes(authenticator: authenticator, audit: audit).add(to: router)
        OpsRoutes(authenticator: authenticator, permissions: permissions, queue: queue, registry: registry, audit: audit,
                  periodicJobs: periodicJobs, recent: caches.ops).add(to: router)
        routeTable.fill(router.routes)
        return router
    }

    /// A link with `?token=` (older links; `creditops tokens link` makes one-time ones) starts a
    /// session and redirects to the same page without it: the token never stays in the address
    /// bar, the history or the cookie.
    static func exchangeTokenForSession(
        _ request: Request, _ context: CreditOpsRequestContext, _ authenticator: Authenticator, _ audit: AuditLog
    ) async throws -> Response? {
        guard let token = request.uri.queryParameters["token"].map(String.init) else { return nil }
        guard let scope = try await authenticator.scope(ofToken: token, context: context) else {
            let page = LoginPage(request)
            return html(page.form(next: LoginRoutes.safeNext(request.uri.path), error: page.texts.wrongTokenInLink),
                        status: .unauthorized)
        }
        let sessionID = try await authenticator.sessions.signIn(scope)
        await audit.record(.init(scope, address: context.address), action: "sign-in", target: "token link", outcome: "ok")
        var response = Response(status: .seeOther, headers: [.location: request.uri.path])
        response.setCookie(authenticator.sessionCookie(sessionID))
        return response
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func jobID(_ context: CreditOpsRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw HTTPError(.badRequest, message: "id: expected a positive job id")
        }
        return id
    }

    static func job(_ id: Int64, queue: JobQueue) async throws -> JobRecord {
        do {
            return try await queue.job(id: id)
        } catch let error as QueueError {
            throw HTTPError(.notFound, message: "\(error)")
        }
    }
}

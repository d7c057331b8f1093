import CreditWorkers
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
    public let client: PostgresClient
    public let registry: JobRegistry
    public let prometheus: PrometheusCollectorRegistry
    public let logger: Logger

    /// `prometheus` is the registry the process's metrics go to (see `MetricsSystem.bootstrap`).
    public init(client: PostgresClient, registry: JobRegistry, prometheus: PrometheusCollectorRegistry, logger: Logger) {
        self.client = client
        self.registry = registry
        self.prometheus = prometheus
        self.logger = logger
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: NotFoundMiddleware())
        let authenticator = Authenticator(tokens: AccessTokens(client: client, logger: logger))
        let units = UnitLookup(client: client, logger: logger)
        let queue = JobQueue(client: client, registry: registry, logger: logger)
        let client = client, logger = logger, prometheus = prometheus

        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            do {
                let version = try await SchemaMigrator(client: client, logger: logger).currentVersion()
                guard version == Schema.latestVersion else {
                    return Self.plain(.serviceUnavailable, "schema version \(version), this binary needs \(Schema.latestVersion): run creditops migrate\n")
                }
                return Self.plain(.ok, "ready\n")
            } catch {
                return Self.plain(.serviceUnavailable, "database not reachable\n")
            }
        }
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            prometheus.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }

        let api = router.group("api/v1")
        api.get("units/:code/coverage") { request, context -> UnitFigures in
            let scope = try await authenticator.scope(of: request)
            let year = try yearParameter(request)
            let unit = try await units.unit(code: try context.parameters.require("code"), scope: scope)
            guard let figures = try await AggregateReader(client: client, logger: logger).unit(code: unit.code, year: year) else {
                throw HTTPError(.notFound, message: "unknown unit \(unit.code)")
            }
            return figures
        }
        api.get("units/:code/summary") { request, context -> Response in
            let scope = try await authenticator.scope(of: request)
            let json = try await UnitSummary.json(code: try context.parameters.require("code"), scope: scope, client: client, logger: logger)
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        api.get("jobs") { request, _ -> JobsPage in
            try Authenticator.requireStaff(try await authenticator.scope(of: request))
            return try await JobsPage.load(request, queue: queue)
        }
        api.get("jobs/:id") { request, context -> JobRecord in
            try Authenticator.requireStaff(try await authenticator.scope(of: request))
            return try await Self.job(try Self.jobID(context), queue: queue)
        }
        api.post("jobs/:id/retry") { request, context -> JobRecord in
            try Authenticator.requireStaff(try await authenticator.scope(of: request))
            let id = try Self.jobID(context)
            _ = try await Self.job(id, queue: queue)
            do {
                try await queue.retry(jobID: id)
            } catch let error as QueueError {
                throw HTTPError(.conflict, message: "\(error)")
            }
            return try await Self.job(id, queue: queue)
        }
        api.post("jobs/:id/cancel") { request, context -> JobRecord in
            try Authenticator.requireStaff(try await authenticator.scope(of: request))
            let id = try Self.jobID(context)
            _ = try await Self.job(id, queue: queue)
            _ = try await queue.cancel(jobID: id)
            return try await Self.job(id, queue: queue)
        }

        router.get("dashboard/:code") { request, context -> Response in
            if let exchange = try await Self.exchangeTokenForCookie(request, authenticator) { return exchange }
            let scope = try await authenticator.scope(of: request)
            let year = try yearParameter(request)
            // The summary answers 404 and 403 for the unit; the figures follow once it is allowed.
            let summary = try await UnitSummary.load(code: try context.parameters.require("code"), scope: scope, client: client, logger: logger)
            let figures = try await AggregateReader(client: client, logger: logger).unit(code: summary.unit, year: year)
            return Self.html(DashboardPage(figures: figures, summary: summary, year: year).render())
        }
        OpsRoutes(authenticator: authenticator, queue: queue, registry: registry).add(to: router)
        return router
    }

    /// A link with ?token= is exchanged for an HttpOnly cookie and a redirect to the same page
    /// without it, so the token never stays in the address bar or the history.
    static func exchangeTokenForCookie(_ request: Request, _ authenticator: Authenticator) async throws -> Response? {
        guard let token = request.uri.queryParameters["token"].map(String.init) else { return nil }
        guard try await authenticator.scope(of: token) != nil else {
            throw HTTPError(.unauthorized, message: "the token is not valid")
        }
        var response = Response(status: .seeOther, headers: [.location: request.uri.path])
        response.setCookie(Cookie(name: Authenticator.cookieName, value: token, path: "/", secure: false, httpOnly: true, sameSite: .strict))
        return response
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func jobID(_ context: BasicRequestContext) throws -> Int64 {
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

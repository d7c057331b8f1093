import HTTPTypes
import Hummingbird
import JobQueue
import PostgresNIO

/// While PostgreSQL is away (restarting, failing over, unreachable), every request that needs it
/// gets 503 with `Retry-After` and a sentence saying so, instead of a 500 or a request that waits
/// as long as the pool keeps trying to connect: within ``limit`` for the request that finds it
/// away, at once for the next ones while ``DatabaseAvailability`` says it still is.
struct DatabaseUnavailableMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Nil: every request tries the database (in-process tests).
    let availability: DatabaseAvailability?
    /// Paths that never touch the database.
    static var withoutDatabase: Set<String> { ["/healthz", "/metrics", "/openapi.json"] }

    /// How long a request may wait for a database that answers the probe but not the request's
    /// queries (a lock, a stalled backend). Generous: on a loaded machine a page of ours took over 10 s.
    var limit: Duration = .seconds(30)
    /// Every this long, a waiting request asks whether the server still answers (``DatabaseAvailability/accepts()``), and
    /// ends at once if it does not: a pool whose server went away queues its queries while it reconnects.
    var probeEvery: Duration = .seconds(2)
    /// What `Retry-After` says: about a restart's time.
    var retryAfterSeconds = 5

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.withoutDatabase.contains(request.uri.path) { return try await next(request, context) }
        guard availability?.isAway != true else { throw unavailable() }
        do {
            return try await withRequestDeadline(next, request, context)
        } catch let error where Self.meansTheDatabaseIsAway(error) {
            availability?.markAway()
            throw unavailable()
        }
    }

    private func unavailable() -> HTTPError {
        HTTPError(
            .serviceUnavailable, headers: [.retryAfter: "\(retryAfterSeconds)"],
            message: "the database is not reachable just now; try again in \(retryAfterSeconds) seconds")
    }

    /// Races the handler against `limit`, and against a probe every `probeEvery` that finds the
    /// server refusing connections; either way the handler is then cancelled, which takes a query
    /// waiting for a connection out of the pool's queue.
    private func withRequestDeadline(_ body: (Request, Context) async throws -> Response, _ request: Request, _ context: Context) async throws -> Response {
        try await withoutActuallyEscaping(body) { body in
            // The group ends only once the handler has, so the box never outlives what it holds.
            let handler = UncheckedBox((body, request, context))
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await handler.value.0(handler.value.1, handler.value.2) }
                group.addTask { [limit, probeEvery, availability] in
                    let deadline = ContinuousClock.now + limit
                    while ContinuousClock.now + probeEvery < deadline {
                        try await Task.sleep(for: probeEvery)
                        if let availability, await !availability.accepts() { return nil }
                    }
                    try await Task.sleep(until: deadline)
                    return nil
                }
                defer { group.cancelAll() }
                guard let response = try await group.next() ?? nil else {
                    throw QueueError(.timedOut, "no answer from PostgreSQL within \(limit)")
                }
                return response
            }
        }
    }

    static func meansTheDatabaseIsAway(_ error: any Error) -> Bool {
        if let error = error as? QueueError { return error.code == .timedOut }
        // The pool's own error once it gave up connecting (its circuit breaker, after a minute):
        // its type lives in a module of PostgresNIO's that is not for import.
        if String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError") { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed:
            return true
        case .server:
            // 08…: connection exceptions; 57P01–57P03: shut down by an administrator, crashed, starting up.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
        default:
            return false
        }
    }
}

/// Carries what a structured child task needs and that is not `Sendable` only for want of saying
/// so: the child ends before the scope that made the box.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

import HTTPTypes
import Hummingbird
import Synchronization

/// A request for a route that does not exist gets a 404 that says so, like every other error,
/// instead of an empty body; a path that exists, asked with a method it does not answer, gets
/// 405 with `Allow` listing those it does.
struct NotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The router's routes, known once they are all added (the middleware comes first).
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            let allowed = routes.methods(for: request.uri.path)
            if !allowed.isEmpty, !allowed.contains(request.method) {
                let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                throw HTTPError(.methodNotAllowed, headers: [.allow: allow], message: "\(request.method) is not answered here; \(allow) are")
            }
            throw HTTPError(.notFound, message: "no such page: \(request.uri.path.prefix(100))")
        }
    }
}

/// The paths and methods a router answers, as `:name` patterns.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], method: HTTPRequest.Method)]>([])

    func fill(_ descriptions: [Router<CreditOpsRequestContext>.RouteDescription]) {
        routes.withLock { routes in
            routes = descriptions.map { ("\($0.path)".split(separator: "/"), $0.method) }
        }
    }

    /// The methods of every route whose pattern matches `path`.
    func methods(for path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/")
        return routes.withLock { routes in
            Set(routes.filter { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { pattern, segment in pattern.hasPrefix(":") || pattern == segment }
            }.map(\.method))
        }
    }
}

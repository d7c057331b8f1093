import Hummingbird

/// A request for a route that does not exist gets a 404 that says so, like every other error,
/// instead of an empty body.
struct NotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            throw HTTPError(.notFound, message: "no such page: \(request.uri.path.prefix(100))")
        }
    }
}

import Hummingbird

/// Forgets every kept result (``DashboardCaches``) after any request that may write — a form,
/// an API call, a sign-in — whatever its outcome: the writer's next page shows what it did.
struct ForgetAfterWritesMiddleware<Context: RequestContext>: RouterMiddleware {
    let caches: DashboardCaches

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        defer { if request.method != .get && request.method != .head { caches.forgetAll() } }
        return try await next(request, context)
    }
}

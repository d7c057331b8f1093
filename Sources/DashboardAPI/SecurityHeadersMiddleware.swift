import HTTPTypes
import Hummingbird
import Logging

/// Headers on every response, errors included: no scripts, styles or frames from elsewhere, no
/// sniffing, no referrer leaking a path, and nothing that needs a token or a session kept in a
/// cache. Only the public probes may be cached.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    }
    static var publicPaths: Set<String> { ["/healthz", "/readyz", "/openapi.json"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            // Anything else (the database gone, a bug) is a 500 that says little, with the headers too.
            context.logger.error("Request failed", metadata: ["path": "\(request.uri.path.prefix(200))", "error": "\(String(reflecting: error))"])
            response = try HTTPError(.internalServerError, message: "internal error; see the server's log").response(from: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if !Self.publicPaths.contains(request.uri.path) { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

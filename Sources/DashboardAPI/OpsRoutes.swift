import CreditWorkers
import Foundation
import HTTPTypes
import Hummingbird
import JobQueue

/// The routes of the operations page. State changes are POSTs that must carry the session's
/// CSRF value (and are refused when the browser says they come from another site); the cookie
/// is SameSite=Strict besides.
struct OpsRoutes {
    let authenticator: Authenticator
    let queue: JobQueue
    let registry: JobRegistry

    /// The staff session of a request: its scope and its CSRF value.
    private func session(_ request: Request) async throws -> (AccessScope, String) {
        let scope = try await authenticator.scope(of: request)
        try Authenticator.requireStaff(scope)
        return (scope, AccessTokens.csrfToken(for: Authenticator.token(of: request) ?? ""))
    }

    /// The fields of a form POST, checked for the CSRF value.
    private func form(_ request: Request, csrf: String) async throws -> [String: String] {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site == "cross-site" {
            throw HTTPError(.forbidden, message: "cross-site requests are refused")
        }
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) throws -> String {
                guard let decoded = String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw HTTPError(.badRequest, message: "form field \(parts[0].prefix(40)): not valid UTF-8 or percent-encoding")
                }
                return decoded
            }
            fields[try decode(parts[0])] = parts.count > 1 ? try decode(parts[1]) : ""
        }
        guard fields["csrf"] == csrf else { throw HTTPError(.forbidden, message: "the form's CSRF value is missing or wrong; reload the page") }
        return fields
    }

    private func jobID(_ context: BasicRequestContext) throws -> Int64 {
        try DashboardServer.jobID(context)
    }

    private func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    func add(to router: Router<BasicRequestContext>) {
        router.get("ops") { request, _ -> Response in
            if let exchange = try await DashboardServer.exchangeTokenForCookie(request, authenticator) { return exchange }
            let (_, csrf) = try await session(request)
            let filter = try JobsPage.filter(from: request)
            let html = OpsPage.overview(
                stats: try await queue.stats(), leader: try await queue.leader(), jobs: try await queue.jobs(filter), filter: filter,
                kinds: registry.kinds, csrf: csrf, message: request.uri.queryParameters["message"].map(String.init))
            return DashboardServer.html(html)
        }
        router.get("ops/jobs/:id") { request, context -> Response in
            let (_, csrf) = try await session(request)
            return DashboardServer.html(OpsPage.job(try await DashboardServer.job(try jobID(context), queue: queue), csrf: csrf))
        }
        router.post("ops/jobs/:id/retry") { request, context -> Response in
            let (_, csrf) = try await session(request)
            _ = try await form(request, csrf: csrf)
            let id = try jobID(context)
            _ = try await DashboardServer.job(id, queue: queue)
            do {
                try await queue.retry(jobID: id)
            } catch let error as QueueError {
                throw HTTPError(.conflict, message: "\(error)")
            }
            return redirect("/ops/jobs/\(id)")
        }
        router.post("ops/jobs/:id/cancel") { request, context -> Response in
            let (_, csrf) = try await session(request)
            _ = try await form(request, csrf: csrf)
            let id = try jobID(context)
            _ = try await DashboardServer.job(id, queue: queue)
            _ = try await queue.cancel(jobID: id)
            return redirect("/ops/jobs/\(id)")
        }
        router.post("ops/queues/:queue/:action") { request, context -> Response in
            let (_, csrf) = try await session(request)
            _ = try await form(request, csrf: csrf)
            let name = try context.parameters.require("queue")
            switch context.parameters.get("action") {
            case "pause": try await queue.pause(queue: name)
            case "resume": try await queue.resume(queue: name)
            default: throw HTTPError(.notFound, message: "unknown queue action")
            }
            return redirect("/ops")
        }
        router.post("ops/jobs") { request, _ -> Response in
            let (_, csrf) = try await session(request)
            let fields = try await form(request, csrf: csrf)
            let kind = fields["kind"] ?? "", args = fields["args"].flatMap { $0.isEmpty ? nil : $0 } ?? "{}"
            do {
                try registry.validate(kind: kind, argsJSON: args)
            } catch {
                throw HTTPError(.badRequest, message: "\(error)")
            }
            let defaults = registry.defaults(for: kind)
            let queueName = fields["queue"].flatMap { $0.isEmpty ? nil : $0 } ?? defaults?.queue ?? "default"
            guard queueName.count <= 128, queueName.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
                throw HTTPError(.badRequest, message: "queue: letters, digits, '_', '-' and '.' only")
            }
            let id = try await queue.enqueue(NewJob(kind: kind, argsJSON: args, queue: queueName, maxAttempts: defaults?.maxAttempts ?? 20))
            return redirect("/ops/jobs/\(id)")
        }
    }
}

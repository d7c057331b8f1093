@testable import DashboardAPI
import CreditWorkers
import Foundation
import Hummingbird
import HummingbirdTesting
import JobQueue
import Prometheus
import PostgresNIO
import Testing
import TestSupport

/// `/openapi.json` is the JSON API's contract: the routes the server registers and the paths the
/// document lists are the same, both ways, and what the server answers is what the document says.
@Suite struct OpenAPITests {
    static var document: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8))) as? [String: Any] ?? [:]
    }

    /// "METHOD /path/{param}" of every operation in the document.
    static var documented: Set<String> {
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        return Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
    }

    static func statuses(_ method: String, _ path: String) -> Set<Int> {
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        let operation = paths[path]?[method.lowercased()] as? [String: Any]
        return Set((operation?["responses"] as? [String: Any] ?? [:]).keys.compactMap(Int.init))
    }

    @Test func everyJSONRouteIsDocumentedAndEveryDocumentedPathIsARoute() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let server = DashboardServer(client: client, registry: JobKinds.registry(client: client, logger: DashboardAPITests.logger),
                                         prometheus: PrometheusCollectorRegistry(), logger: DashboardAPITests.logger)
            // The HTML pages (dashboard, forms, /ops, sign-in) are for browsers, not the API's contract.
            let machine = server.router().routes.map { route -> String in
                let path = "\(route.path)".split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
                return "\(route.method) /\(path)"
            }.filter { route in
                let path = route.split(separator: " ")[1]
                return path.hasPrefix("/api/") || ["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(String(path))
            }
            #expect(machine.count >= 12)
            #expect(Set(machine) == Self.documented, "registered, not documented: \(Set(machine).subtracting(Self.documented)); documented, not registered: \(Self.documented.subtracting(machine))")
        }
    }

    @Test func theServerAnswersWhatTheDocumentSays() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            let job = try await queue.enqueue(NewJob(kind: "noop", queue: "reminders", runAt: Date().addingTimeInterval(3600), meta: ["unit": "C1"]))
            let json: HTTPFields = [.contentType: "application/json"]
            // (method, documented path, address, token, body)
            let requests: [(String, String, String, String?, String?)] = [
                ("GET", "/api/v1/units/{code}/coverage", "/api/v1/units/D1/coverage?year=2026", fixture.district, nil),
                ("GET", "/api/v1/units/{code}/coverage", "/api/v1/units/D1/coverage?year=abc", fixture.district, nil),
                ("GET", "/api/v1/units/{code}/coverage", "/api/v1/units/P/coverage", fixture.district, nil),
                ("GET", "/api/v1/units/{code}/coverage", "/api/v1/units/NOPE/coverage", fixture.district, nil),
                ("GET", "/api/v1/units/{code}/coverage", "/api/v1/units/D1/coverage", nil, nil),
                ("GET", "/api/v1/units/{code}/summary", "/api/v1/units/C1/summary", fixture.district, nil),
                ("GET", "/api/v1/units/{code}/summary", "/api/v1/units/C3/summary", fixture.district, nil),
                ("GET", "/api/v1/jobs", "/api/v1/jobs?state=scheduled&limit=5", fixture.staff, nil),
                ("GET", "/api/v1/jobs", "/api/v1/jobs?state=lost", fixture.staff, nil),
                ("GET", "/api/v1/jobs", "/api/v1/jobs", fixture.district, nil),
                ("POST", "/api/v1/jobs", "/api/v1/jobs", fixture.staff, #"{"kind":"noop","args":{}}"#),
                ("POST", "/api/v1/jobs", "/api/v1/jobs", fixture.staff, #"{"kind":"no-such-kind"}"#),
                ("POST", "/api/v1/jobs", "/api/v1/jobs", fixture.districtOperator, #"{"kind":"noop"}"#),
                ("GET", "/api/v1/jobs/{id}", "/api/v1/jobs/\(job)", fixture.staff, nil),
                ("GET", "/api/v1/jobs/{id}", "/api/v1/jobs/987654", fixture.staff, nil),
                ("GET", "/api/v1/jobs/{id}", "/api/v1/jobs/x", fixture.staff, nil),
                ("POST", "/api/v1/jobs/{id}/{action}", "/api/v1/jobs/\(job)/cancel", fixture.staff, nil),
                ("POST", "/api/v1/jobs/{id}/{action}", "/api/v1/jobs/\(job)/cancel", fixture.staff, nil),
                ("POST", "/api/v1/jobs/{id}/{action}", "/api/v1/jobs/\(job)/retry", fixture.staff, nil),
                ("POST", "/api/v1/jobs/{id}/{action}", "/api/v1/jobs/\(job)/explode", fixture.staff, nil),
                ("GET", "/api/v1/queues", "/api/v1/queues", fixture.staff, nil),
                ("GET", "/api/v1/queues", "/api/v1/queues", fixture.districtOperator, nil),
                ("POST", "/api/v1/queues/{name}/{action}", "/api/v1/queues/reminders/pause", fixture.staff, nil),
                ("POST", "/api/v1/queues/{name}/{action}", "/api/v1/queues/no-such-queue/pause", fixture.staff, nil),
                ("GET", "/healthz", "/healthz", nil, nil), ("GET", "/readyz", "/readyz", nil, nil), ("GET", "/metrics", "/metrics", nil, nil),
                ("GET", "/openapi.json", "/openapi.json", nil, nil),
            ]
            var seen = Set<Int>()
            for (method, path, address, token, body) in requests {
                var headers = token.map { DashboardAPITests.bearer($0) } ?? [:]
                if body != nil { headers.append(contentsOf: json) }
                try await client.execute(uri: address, method: HTTPRequest.Method(method)!, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                    let status = Int(response.status.code)
                    seen.insert(status)
                    #expect(Self.statuses(method, path).contains(status), "\(method) \(address): \(status) is not in the document (\(Self.statuses(method, path).sorted()))")
                    if status >= 400 && status != 503 {
                        let error = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
                        #expect((error?["error"] as? [String: Any])?["message"] is String, "\(method) \(address): \(status) without the error shape")
                    }
                }
            }
            #expect(seen.isSuperset(of: [200, 201, 400, 401, 403, 404, 409]), "the requests reach every kind of answer: \(seen.sorted())")
        }
    }
}

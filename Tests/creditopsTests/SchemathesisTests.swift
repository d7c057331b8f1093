import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PostgresNIO
import TestSupport
import Testing

/// Schemathesis (PyPI, in `.venv-tests`, installed by `.ci/run`) generates requests from
/// `/openapi.json` against a running `creditops serve` with seeded data and an operator's token:
/// no server error, and every answer as the document says (status, content type, body schema).
@Suite struct SchemathesisTests {
    static var schemathesis: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".venv-tests/bin/schemathesis").path
    }

    @Test func theAPIKeepsItsOpenAPIDocumentUnderGeneratedRequests() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            let seeded = try await CreditOpsProcess.run(["seed", "--profile", "demo"], environment: environment, timeout: .seconds(120))
            #expect(seeded.status == 0, "\(seeded.stderr)")
            let made = try await CreditOpsProcess.run(["tokens", "create", "--unit", "T01", "--role", "operator"], environment: environment)
            let token = made.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let port = try freePort()
            let base = "http://127.0.0.1:\(port)"
            let server = try CreditOpsProcess.start(["serve", "--http", "127.0.0.1:\(port)", "--log-level", "error"], environment: environment)
            defer { server.kill(signal: SIGKILL) }
            let ready = try await eventually(timeout: .seconds(30)) {
                (try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/readyz"), timeout: .seconds(2)))?.status == .ok
            }
            #expect(ready, "\(server.stderr())")

            let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("schemathesis.toml").path
            let run = try CreditOpsProcess.start(executable: Self.schemathesis, [
                "--config-file", config, "--no-color", "run", "\(base)/openapi.json", "--header", "Authorization: Bearer \(token)",
                "--max-examples", "25", "--seed", "20261201", "--workers", "1", "--request-timeout", "10", "--max-time", "100",
            ])
            let finished = await run.wait(timeout: .seconds(420))
            if !finished { run.kill(signal: SIGKILL) }
            _ = await run.wait(timeout: .seconds(30))
            let output = run.stdout() + run.stderr()
            #expect(finished, "schemathesis did not end in 7 minutes: \(output.suffix(3000))")
            #expect(finished && run.process.terminationStatus == 0, "\(output.suffix(6000))")
            server.kill(signal: SIGTERM)
            #expect(await server.wait(timeout: .seconds(15)))
        }
    }
}

import AsyncHTTPClient
import CreditWorkers
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PostgresNIO
import TestSupport
import Testing

/// Access as the real binaries give it: a token revoked or expired is refused by another running
/// process; TLS with a certificate made now; the token and audit commands; the log channel's masks.
@Suite struct AccessProcessTests {
    static func province(_ client: PostgresClient) async throws {
        try await client.query("INSERT INTO units (code, name, level) VALUES ('P', 'Tỉnh đoàn P', 'province')", logger: silentLogger)
    }

    static func status(_ url: String, token: String) async -> Int {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) else { return -1 }
        return Int(response.status.code)
    }

    static func startServe(_ environment: [String: String], extra: [String] = [], scheme: String = "http") async throws -> (CreditOpsProcess.Running, String) {
        let port = try freePort()
        let server = try CreditOpsProcess.start(["serve", "--http", "127.0.0.1:\(port)", "--log-level", "warning"] + extra, environment: environment)
        let base = "\(scheme)://127.0.0.1:\(port)"
        return (server, base)
    }

    @Test func aRevokedAndAnExpiredTokenAreRefusedByAnotherRunningProcessWithinFiveSeconds() async throws {
        try await TestDatabase.withDatabase { client, database in
            try await Self.province(client)
            let environment = ["DATABASE_URL": database.url]
            let created = try await CreditOpsProcess.run(["tokens", "create", "--unit", "P", "--name", "to revoke"], environment: environment)
            #expect(created.status == 0, "\(created.stderr)")
            let revocable = created.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let idText = created.stderr.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let (server, base) = try await Self.startServe(environment)
            defer { server.kill(signal: SIGKILL) }
            let url = base + "/api/v1/units/P/summary"
            let ready = try await eventually(timeout: .seconds(30)) { await Self.status(url, token: revocable) == 200 }
            #expect(ready, "\(server.stderr())")

            // Revoked from another process (the CLI); the server has the token in its cache.
            let revoked = try await CreditOpsProcess.run(["tokens", "revoke", idText], environment: environment)
            #expect(revoked.status == 0 && revoked.stdout.contains("revoked"), "\(revoked.stderr)")
            let revokedAt = ContinuousClock.now
            try await Self.expectRefusedWithinFiveSeconds(url: url, token: revocable, from: revokedAt)

            // A token that expires while the server runs.
            // Seconds, which the CLI does not offer (its least is a minute).
            let (_, expiring) = try await AccessTokens(client: client, logger: silentLogger).create(
                unitCode: "P", role: .viewer, name: "expiring", lifetime: .seconds(4))
            #expect(await Self.status(url, token: expiring) == 200)
            let untilExpiry = try await client.integer("SELECT ceil(extract(epoch FROM expires_at - now()) * 1000)::int FROM api_tokens WHERE name = 'expiring'")
            let expiresAt = ContinuousClock.now + .milliseconds(untilExpiry)
            try await Self.expectRefusedWithinFiveSeconds(url: url, token: expiring, from: expiresAt)

            let listed = try await CreditOpsProcess.run(["tokens", "list", "--json"], environment: environment)
            let tokens = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            let row = tokens.first { "\($0["id"] ?? "")" == idText }
            #expect(row?["revokedAt"] != nil && row?["lastUsedAt"] != nil && row?["role"] as? String == "viewer", "\(listed.stdout)")
            server.kill(signal: SIGTERM)
            #expect(await server.wait(timeout: .seconds(15)))
        }
    }

    /// A request sent within 5 s of `moment` is refused with 401, and so is every one after it.
    /// Polled gently: each refusal counts toward the 30 a minute after which an address gets 429.
    static func expectRefusedWithinFiveSeconds(url: String, token: String, from moment: ContinuousClock.Instant) async throws {
        var firstRefusal: Duration?
        while firstRefusal == nil && ContinuousClock.now < moment + .seconds(10) {
            let sent = ContinuousClock.now
            if await status(url, token: token) == 401 { firstRefusal = sent - moment } else { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(firstRefusal.map { $0 <= .seconds(5) } == true, "first refused request sent \(String(describing: firstRefusal)) after")
        for _ in 0..<3 { #expect(await status(url, token: token) == 401) }
    }

    @Test func servesHTTPSWithACertificateMadeNow() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let certificate = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        try await TestDatabase.withDatabase { client, database in
            try await Self.province(client)
            let environment = ["DATABASE_URL": database.url]
            let token = try await CreditOpsProcess.run(["tokens", "create", "--unit", "P"], environment: environment).stdout
                .split(separator: "\n").last.map(String.init) ?? ""
            let (server, base) = try await Self.startServe(environment, extra: ["--tls-cert", certificate, "--tls-key", key], scheme: "https")
            defer { server.kill(signal: SIGKILL) }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
            let https = HTTPClient(eventLoopGroupProvider: .singleton,
                                   configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
            do {
                let ready = try await eventually(timeout: .seconds(30)) {
                    (try? await https.execute(HTTPClientRequest(url: base + "/healthz"), timeout: .seconds(2)).status) == .ok
                }
                #expect(ready, "\(server.stderr())")
                // The certificate was checked against the one made above: this is TLS, verified.
                let page = try await https.execute(HTTPClientRequest(url: base + "/dashboard/P?token=\(token)"), timeout: .seconds(10))
                #expect(page.status == .seeOther)
                let cookie = page.headers["Set-Cookie"].first ?? ""
                #expect(cookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.contains("Secure"), "\(cookie)")
                // Plain HTTP on the same port gets no answer.
                let plain = try? await HTTPClient.shared.execute(
                    HTTPClientRequest(url: base.replacingOccurrences(of: "https://", with: "http://") + "/healthz"), timeout: .seconds(5))
                #expect(plain?.status != .ok)
            } catch {
                try await https.shutdown()
                throw error
            }
            try await https.shutdown()
            // Both files or neither: one line naming what is missing.
            let half = try await CreditOpsProcess.run(["serve", "--http", "127.0.0.1:0", "--tls-cert", certificate], environment: environment)
            #expect(half.status == 1 && half.stderr.contains("--tls-key"), "\(half.stderr)")
        }
    }

    @Test func tokenAndAuditCommands() async throws {
        try await TestDatabase.withDatabase { client, database in
            try await Self.province(client)
            let environment = ["DATABASE_URL": database.url]
            let made = try await CreditOpsProcess.run(
                ["tokens", "create", "--unit", "P", "--role", "operator", "--name", "Tổ vận hành", "--expires-in", "30m"], environment: environment)
            #expect(made.status == 0, "\(made.stderr)")
            let staff = try await CreditOpsProcess.run(["tokens", "create", "--unit", "P", "--staff"], environment: environment)
            #expect(staff.stderr.contains("role operator"))
            for (arguments, message) in [
                (["--expires-in", "400d"], "at most 365 days"), (["--expires-in", "soon"], "not a lifetime"),
                (["--role", "admin"], "admin"), (["--staff", "--role", "viewer"], "--staff means --role operator"),
            ] {
                let refused = try await CreditOpsProcess.run(["tokens", "create", "--unit", "P"] + arguments, environment: environment)
                #expect(refused.status == 64 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
            }
            let unknownUnit = try await CreditOpsProcess.run(["tokens", "create", "--unit", "NOPE"], environment: environment)
            #expect(unknownUnit.status == 1 && unknownUnit.stderr.contains("unknown unit NOPE"))
            let missing = try await CreditOpsProcess.run(["tokens", "revoke", "999999"], environment: environment)
            #expect(missing.status == 1 && missing.stderr.contains("no token with id 999999"), "\(missing.stderr)")
            let list = try await CreditOpsProcess.run(["tokens", "list"], environment: environment)
            #expect(list.stdout.contains("Tổ vận hành") && list.stdout.contains("operator") && !list.stdout.contains("co_"))
            let minutes = try await client.integer("SELECT round(extract(epoch FROM expires_at - now()) / 60)::int FROM api_tokens WHERE name = 'Tổ vận hành'")
            #expect(minutes == 30)
            let link = try await CreditOpsProcess.run(["tokens", "link", "--unit", "P", "--base-url", "https://creditops.example.vn/"], environment: environment)
            #expect(link.stdout.split(separator: "\n").last?.hasPrefix("https://creditops.example.vn/login/") == true, "\(link.stdout)")
            let badBase = try await CreditOpsProcess.run(["tokens", "link", "--unit", "P", "--base-url", "ftp://x"], environment: environment)
            #expect(badBase.status == 1 && badBase.stderr.contains("not an http(s) address"))

            // The CLI's writes are in the trail too, under the operating system's user.
            let enqueued = try await CreditOpsProcess.run(["enqueue", "noop", "--run-at", "2030-01-01T00:00:00Z"], environment: environment)
            let id = enqueued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            for arguments in [["jobs", "cancel", id], ["jobs", "retry", id], ["queues", "pause", "default"], ["queues", "resume", "default"],
                              ["jobs", "retry", "999999"]] {
                _ = try await CreditOpsProcess.run(arguments, environment: environment)
            }
            let audit = try await CreditOpsProcess.run(["audit", "list", "--json"], environment: environment)
            let events = try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]] ?? []
            let actions = events.reversed().map { "\($0["action"] as? String ?? ""):\(($0["outcome"] as? String ?? "").prefix(8))" }
            #expect(actions == ["token.create:ok", "token.create:ok", "token.revoke:refused:", "link.create:ok", "job.enqueue:ok",
                                "job.cancel:ok", "job.retry:ok", "queue.pause:ok", "queue.resume:ok", "job.retry:refused:"], "\(actions)")
            #expect(events.allSatisfy { ($0["role"] as? String) == "cli" && ($0["tokenName"] as? String)?.hasPrefix("cli:") == true })
            let since = try await CreditOpsProcess.run(["audit", "list", "--since", "2099-01-01"], environment: environment)
            #expect(since.status == 0 && since.stdout.contains("(none)"))
            let badSince = try await CreditOpsProcess.run(["audit", "list", "--since", "2026-02-30"], environment: environment)
            #expect(badSince.status == 64 && badSince.stderr.contains("--since"))
        }
    }

    @Test func theLogChannelMasksPhonesUnlessAsked() async throws {
        try await TestDatabase.withDatabase { client, database in
            let environment = ["DATABASE_URL": database.url]
            try await OverdueLoans.prepare(count: 30, client: client, environment: environment)
            for showRecipients in [false, true] {
                try await client.query("DELETE FROM notifications", logger: silentLogger)
                try await client.query("DELETE FROM jobs", logger: silentLogger)
                let planned = try await CreditOpsProcess.run(["plan", "overdue"], environment: environment)
                #expect(planned.status == 0, "\(planned.stderr)")
                let worker = try CreditOpsProcess.start(
                    ["worker", "--queues", "reminders", "--no-leader", "--log-level", "info"] + (showRecipients ? ["--log-recipients"] : []),
                    environment: environment)
                defer { worker.kill(signal: SIGKILL) }
                let delivered = try await eventually(timeout: .seconds(60)) {
                    try await client.integer("SELECT count(*) FROM notifications WHERE state <> 'sent'") == 0
                }
                #expect(delivered)
                worker.kill(signal: SIGTERM)
                _ = await worker.wait(timeout: .seconds(15))
                let lines = worker.stdout().split(separator: "\n").filter { $0.hasPrefix("[nhắc nhở") }
                #expect(lines.count == 30)
                let fullPhone = /\+84\d{9}/
                let namesShown = lines.contains { $0.contains("Tổ trưởng") }
                if showRecipients {
                    #expect(lines.allSatisfy { $0.contains(fullPhone) } && namesShown)
                } else {
                    #expect(lines.allSatisfy { !$0.contains(fullPhone) && $0.contains(/\+84\dx…x\d\d/) }, "\(lines.prefix(3))")
                    #expect(!namesShown)
                    // Nor anywhere else in its output at info level.
                    #expect(!worker.stderr().contains(fullPhone) && !worker.stderr().contains("Tổ trưởng"))
                }
            }
        }
    }
}

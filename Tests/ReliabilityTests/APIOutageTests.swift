import AsyncHTTPClient
import EmbeddedPostgres
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing
import TestSupport

extension ReliabilityTests {
    /// The API (`serve`) and the CLI while PostgreSQL is away for ten seconds, on a server of this
    /// test's own: clear answers, never a hang, and service again once it is back.
    @Suite struct APIOutage {
        struct Answer: Sendable {
            var status: Int
            var retryAfter: String?
            var body: String
            var took: Duration
        }

        @Test func theAPIAndTheCLIAnswerClearlyWhilePostgreSQLIsAway() async throws {
            try await withOwnServer(durability: .throwaway) { server, restarted, url in
                let port = try #require(URLComponents(string: url)?.port)
                try await Self.ask(url: url, servers: "127.0.0.1:\(port)", server: server, restarted: restarted)
            }
        }

        /// With a host list every process talks to its own forwarder on 127.0.0.1, which accepts
        /// connections whether or not a host is up: the API must still see that none is.
        @Test func theAPIAndTheCLIAnswerClearlyWithAHostListWhenNoHostIsUp() async throws {
            try await withOwnServer(durability: .throwaway) { server, restarted, url in
                let port = try #require(URLComponents(string: url)?.port)
                let nothingThere = try freePort()
                let hostList = url.replacingOccurrences(of: "127.0.0.1:\(port)", with: "127.0.0.1:\(port),127.0.0.1:\(nothingThere)")
                    + "&target_session_attrs=read-write"
                try await Self.ask(url: hostList, servers: "127.0.0.1:\(port),127.0.0.1:\(nothingThere)", server: server, restarted: restarted,
                                   setting: "with a host list in DATABASE_URL")
            }
        }

        /// `servers`: how the CLI should name where it could not connect.
        static func ask(
            url: String, servers: String, server: EmbeddedPostgres, restarted: EmbeddedPostgres, setting: String = ""
        ) async throws {
            let environment = ["DATABASE_URL": url]
            let api = try await Self.serve(url: url)
            defer { api.process.kill(signal: SIGKILL) }
            let (summary, token, port) = (api.summary, api.token, api.port)

            try await server.stop()
            let stoppedAt = ContinuousClock.now
            var answers: [Answer] = []
            while ContinuousClock.now < stoppedAt + .seconds(10) {
                answers.append(await Self.get(summary, token: token))
                try await Task.sleep(for: .milliseconds(250))
            }
            let healthz = await Self.get("http://127.0.0.1:\(port)/healthz", token: token)
            let readyz = await Self.get("http://127.0.0.1:\(port)/readyz", token: token)
            let cliStarted = ContinuousClock.now
            let cli = try await CreditOpsProcess.run(["jobs", "list"], environment: environment, timeout: .seconds(30))
            let cliTook = ContinuousClock.now - cliStarted

            try await restarted.start()
            let restartedAt = ContinuousClock.now
            let back = try await eventually(timeout: .seconds(60)) { await Self.get(summary, token: token).status == 200 }
            let apiBackAfter = ContinuousClock.now - restartedAt
            let cliAfter = try await CreditOpsProcess.run(["jobs", "list"], environment: environment, timeout: .seconds(30))

            #expect(!answers.isEmpty && answers.allSatisfy { $0.status == 503 && $0.retryAfter != nil },
                    "every request while PostgreSQL is away gets 503 with Retry-After: \(answers.map { "\($0.status) \($0.took)" })")
            #expect(answers.allSatisfy { $0.body.contains("database is not reachable") }, "\(answers.first?.body ?? "")")
            let slowest = answers.map(\.took).max() ?? .zero
            // The first request finds the server gone after 2 s; the next ones are answered at once.
            #expect(slowest <= .seconds(5), "no request waits: \(answers.map(\.took))")
            #expect(healthz.status == 200, "the process itself is alive")
            #expect(readyz.status == 503 && readyz.took <= .seconds(5), "\(readyz)")
            let lines = cli.stderr.split(separator: "\n")
            #expect(cli.status == 1 && lines.count == 1 && lines.first?.contains("cannot connect to PostgreSQL") == true, "\(cli.stderr)")
            // Named as the user wrote it: every host of a host list, not the process's forwarder.
            #expect(lines.first?.contains("cannot connect to PostgreSQL at \(servers): ") == true, "\(cli.stderr)")
            #expect(cliTook <= .seconds(10), "the CLI gives up within its connect time-out: \(cliTook)")
            #expect(back, "the API serves again once PostgreSQL is back: \(api.process.stderr().suffix(2000))")
            // Within 2 s: a fresh pool once the probe finds the server back (`PoolRenewal`); the old one
            // would wait for its next attempt, 100 ms × 1.25ⁿ apart (3–7 s after ten seconds of it).
            #expect(apiBackAfter <= .seconds(2), "\(apiBackAfter)")
            #expect(cliAfter.status == 0, "\(cliAfter.stderr)")

            let fast = answers.filter { $0.took < .seconds(1) }.count
            ReliabilityReport.record("The API and the CLI while PostgreSQL is stopped for 10 s" + (setting.isEmpty ? "" : ", \(setting)"), [
                ("API requests while away", "\(answers.count), all 503 with Retry-After"),
                ("answered within 1 s", "\(fast) of \(answers.count)"), ("slowest answer", slowest.shown),
                ("CLI (`jobs list`) while away", "exit \(cli.status) after \(cliTook.shown): \(lines.first ?? "")"),
                ("API serving again after PostgreSQL was back", apiBackAfter.shown),
                ("CLI after PostgreSQL was back", "exit \(cliAfter.status)"),
            ])
            api.process.kill(signal: SIGTERM)
            #expect(await api.process.wait(timeout: .seconds(15)))
        }

        /// The pool's next connection attempt seconds away when PostgreSQL comes back: the API must
        /// not wait for it. The server is restarted just after an attempt of the pool's, 15 s into
        /// the outage, when its back-off between attempts has grown to 3–5 s.
        @Test func theAPIServesAgainAtOnceWhenItsPoolWouldTryOnlySecondsLater() async throws {
            try await withOwnServer(durability: .throwaway) { server, restarted, url in
                let port = try #require(URLComponents(string: url)?.port)
                let api = try await Self.serve(url: url)
                defer { api.process.kill(signal: SIGKILL) }

                try await server.stop()
                let stoppedAt = ContinuousClock.now
                // One request, which the pool holds while its attempts fail: from then on it retries.
                let first = await Self.get(api.summary, token: api.token)
                let attempts = try await StartupAttempts.listen(port: port)
                let late = try await eventually(timeout: .seconds(40)) {
                    attempts.times.last.map { $0 > stoppedAt + .seconds(15) } ?? false
                }
                await attempts.stop()
                try await restarted.start()
                let restartedAt = ContinuousClock.now
                let back = try await eventually(timeout: .seconds(30)) { await Self.get(api.summary, token: api.token).status == 200 }
                let backAfter = ContinuousClock.now - restartedAt

                let times = attempts.times
                let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
                #expect(first.status == 503, "\(first)")
                #expect(late, "the pool tried again 15 s into the outage: \(times.map { $0 - stoppedAt })")
                #expect(back, "\(api.process.stderr().suffix(2000))")
                // Without a fresh pool this is the wait for its next attempt, a gap like the last ones.
                #expect(backAfter <= .seconds(2), "\(backAfter); the pool's last gaps between attempts: \(gaps.suffix(3))")
                ReliabilityReport.record("The API after PostgreSQL is back, restarted just after an attempt of its pool's", [
                    ("the pool's attempts while away (after the first 2 s)", "\(times.count), the last gaps \(gaps.suffix(3).map(\.shown).joined(separator: ", "))"),
                    ("API serving again after PostgreSQL was back", backAfter.shown),
                ])
            }
        }

        /// `serve` on `url`'s database, migrated here, with a province and a viewer's token for it.
        struct API {
            let process: CreditOpsProcess.Running
            let token: String
            let port: Int
            var summary: String { "http://127.0.0.1:\(port)/api/v1/units/P/summary" }
        }

        static func serve(url: String) async throws -> API {
            let environment = ["DATABASE_URL": url]
            let migrated = try await CreditOpsProcess.run(["migrate"], environment: environment)
            #expect(migrated.status == 0, "\(migrated.stderr)")
            try await withDatabaseClient(url) { client in
                try await client.query("INSERT INTO units (code, name, level) VALUES ('P', 'Tỉnh đoàn P', 'province')", logger: silentLogger)
            }
            let created = try await CreditOpsProcess.run(["tokens", "create", "--unit", "P", "--name", "outage"], environment: environment)
            #expect(created.status == 0, "\(created.stderr)")
            let token = created.stdout.split(separator: "\n").last.map(String.init) ?? ""

            let port = try freePort()
            let process = try CreditOpsProcess.start(["serve", "--http", "127.0.0.1:\(port)", "--log-level", "warning"],
                                                     environment: environment.merging(["CREDITOPS_DASHBOARD_REUSE_MS": "0"]) { $1 })
            let api = API(process: process, token: token, port: port)
            let up = try await eventually(timeout: .seconds(30)) { await Self.get(api.summary, token: token).status == 200 }
            #expect(up, "\(process.stderr())")
            return api
        }

        static func get(_ url: String, token: String) async -> Answer {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let started = ContinuousClock.now
            guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(30)) else {
                return Answer(status: -1, retryAfter: nil, body: "", took: ContinuousClock.now - started)
            }
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
            return Answer(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: body,
                          took: ContinuousClock.now - started)
        }
    }
}

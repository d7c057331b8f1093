import AsyncHTTPClient
import CreditDomain
import CreditWorkers
import EmbeddedPostgres
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import TestSupport
import Testing

/// `serve` with `DATABASE_READ_URL` at a real streaming replica: dashboards read there and say how
/// far behind it is; past the allowed lag the primary answers; `/readyz` and `/metrics` tell.
@Suite struct ReadReplicaTests {
    /// Wide enough that a loaded machine's slow import still lands inside it.
    static let maxLag = 15

    @Test func dashboardsReadFromAStreamingReplicaAndSayHowFarBehindItIs() async throws {
        try await ReplicatedCluster.with { cluster in
            let token = try await withDatabaseClient(cluster.primaryURL) { client in
                try await Self.district(client, loans: [["L1", "B1", "Cho vay hộ nghèo", "20000000", "10000000", "2024-01-01", "2028-01-01"]])
                return try await AccessTokens(client: client, logger: silentLogger).create(unitCode: "D1", role: .viewer, name: "D1").token
            }
            let port = try freePort()
            let server = try CreditOpsProcess.start(["serve", "--http", "127.0.0.1:\(port)", "--log-level", "warning"], environment: [
                "DATABASE_URL": cluster.primaryURL, "DATABASE_READ_URL": cluster.standbyURL,
                "DATABASE_READ_MAX_LAG_SECONDS": "\(Self.maxLag)", "CREDITOPS_DASHBOARD_REUSE_MS": "0",
            ])
            defer { server.kill(signal: SIGKILL) }
            let base = "http://127.0.0.1:\(port)"
            let get = { @Sendable (path: String) async -> (status: Int, body: String) in await Self.get(base + path, token: token) }

            // The token was made on the primary before the standby was copied: both have it.
            let onReplica = try await eventually(timeout: .seconds(30)) { await get("/readyz").body.contains("reading from the replica") }
            let readiness = await get("/readyz")
            #expect(onReplica, "\(readiness) \(server.stderr())")
            #expect(try await Self.outstanding(get) == 10_000_000)
            let upToDate = await get("/dashboard/D1").body
            #expect(Self.lagOnPage(upToDate) == nil, "a replica that keeps up says nothing")

            // The replica stops replaying (as under a long query or a slow disk) while the primary moves on.
            try await withDatabaseClient(cluster.standbyURL) { try await $0.query("SELECT pg_wal_replay_pause()", logger: silentLogger) }
            let pausedAt = ContinuousClock.now
            try await withDatabaseClient(cluster.primaryURL) { client in
                try await Self.district(client, loans: [["L2", "B2", "Cho vay hộ nghèo", "20000000", "5000000", "2024-01-01", "2028-01-01"]])
            }
            let lagShown = try await eventually(timeout: .seconds(Self.maxLag - 5)) {
                Self.lagOnPage(await get("/dashboard/D1").body).map { $0 >= 2 } ?? false
            }
            let lagging = await get("/dashboard/D1").body
            #expect(lagShown, "the page says how old its figures are: \(lagging.prefix(3000))")
            #expect(try await Self.outstanding(get) == 10_000_000, "the figures come from the replica, which has not replayed the new loan")
            let metrics = await get("/metrics").body
            let gauge = metrics.split(separator: "\n").first { $0.hasPrefix("creditops_read_replica_lag_seconds ") }
            #expect(gauge.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 1 } == true, "\(metrics.suffix(2000))")
            let stillOnReplica = await get("/readyz").body
            #expect(stillOnReplica.contains("reading from the replica"))

            // Past the allowed lag the primary answers, with the new loan and no lag note.
            let fellBack = try await eventually(timeout: .seconds(Self.maxLag + 20)) {
                await get("/readyz").body.contains("reading from the primary")
            }
            let readyz = await get("/readyz")
            #expect(fellBack, "\(readyz)")
            // The lag counts from the last check that found the replica caught up: at most one check (1 s) before the pause.
            #expect(ContinuousClock.now - pausedAt >= .seconds(Self.maxLag - 1), "not before the lag passed the limit")
            #expect(readyz.status == 200, "a lagging replica is no reason to restart the API: \(readyz)")
            #expect(try await Self.outstanding(get) == 15_000_000)
            let fromPrimary = await get("/dashboard/D1").body
            #expect(Self.lagOnPage(fromPrimary) == nil)

            // Replaying again, the replica catches up and takes the reads back.
            try await withDatabaseClient(cluster.standbyURL) { try await $0.query("SELECT pg_wal_replay_resume()", logger: silentLogger) }
            let back = try await eventually(timeout: .seconds(30)) { await get("/readyz").body.contains("reading from the replica") }
            let caughtUp = await get("/readyz")
            #expect(back, "\(caughtUp)")
            #expect(try await Self.outstanding(get) == 15_000_000)

            // The replica goes down: every request still gets its figures, from the primary.
            try await cluster.standby.stop(.immediate)
            for _ in 0..<5 {
                #expect(try await Self.outstanding(get) == 15_000_000)
                let page = await get("/dashboard/D1")
                #expect(page.status == 200 && Self.lagOnPage(page.body) == nil)
            }
            let noticed = try await eventually(timeout: .seconds(10)) { await get("/readyz").body.contains("unreachable") }
            let down = await get("/readyz")
            #expect(noticed && down.status == 200, "\(down)")
            server.kill(signal: SIGTERM)
            #expect(await server.wait(timeout: .seconds(15)))
        }
    }

    /// A district D1 with one commune and group, the given loans, and its figures computed.
    static func district(_ client: PostgresClient, loans: [[String]]) async throws {
        let importer = Importer(client: client, logger: silentLogger)
        _ = try await importer.importRecords(.units, [
            ["P", "Tỉnh đoàn P", "province", "", "", ""], ["D1", "Huyện đoàn Một", "district", "P", "", ""],
            ["C1", "Đoàn xã Một", "commune", "D1", "", ""],
        ])
        _ = try await importer.importRecords(.points, [["P1", "C1", "17", "07:30", "Nhà văn hóa thôn 1"]])
        _ = try await importer.importRecords(.groups, [["G1", "Tổ thôn 1", "C1", "", "", ""]])
        _ = try await importer.importRecords(.borrowers, [["B1", "Hộ 1", "G1", "", "100000"], ["B2", "Hộ 2", "G1", "", "100000"]])
        _ = try await importer.importRecords(.loans, loans)
        let today = CalendarDate(unixTime: Date().timeIntervalSince1970)
        _ = try await Aggregator(client: client, logger: silentLogger, today: { today }).rebuild()
    }

    /// The seconds in the page's "số liệu trễ N giây", if it says so.
    static func lagOnPage(_ html: String) -> Int? {
        guard let range = html.range(of: "số liệu trễ ") else { return nil }
        return Int(html[range.upperBound...].prefix { $0.isNumber })
    }

    static func outstanding(_ get: (String) async -> (status: Int, body: String)) async throws -> Int? {
        let summary = await get("/api/v1/units/D1/summary")
        let json = try JSONSerialization.jsonObject(with: Data(summary.body.utf8)) as? [String: Any]
        return (json?["loans"] as? [String: Any])?["outstanding"] as? Int
    }

    static func get(_ url: String, token: String) async -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)),
              let body = try? await response.body.collect(upTo: 4 << 20) else { return (-1, "") }
        return (Int(response.status.code), String(buffer: body))
    }
}

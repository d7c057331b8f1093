import Foundation
import PostgresNIO
import TestSupport
import Testing

/// A delivery worker SIGKILLed mid-batch and restarted: nothing is lost, and only requests in
/// flight at the kill are repeated, with the same idempotency key.
@Suite struct DeliveryProcessTests {
    static let loans = 300
    static let concurrency = 10

    private func importFile(_ kind: String, _ text: String, _ environment: [String: String]) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-\(UUID().uuidString).csv").path
        try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try await CreditOpsProcess.run(["import", kind, path], environment: environment)
        #expect(output.status == 0, "import \(kind): \(output.stderr)")
    }

    @Test func aKilledWorkerLosesNothingAndRepeatsOnlyWhatWasInFlight() async throws {
        try await TestDatabase.withDatabase { client, database in
            let base = ["DATABASE_URL": database.url]
            try await importFile("units", """
                code,name,level,parent_code,contact_name,contact_phone
                TQ,Tỉnh đoàn Tuyên Quang,province,,,
                TQ-YS,Huyện đoàn Yên Sơn,district,TQ,,
                TQ-YS-TB,Đoàn xã Thái Bình,commune,TQ-YS,Lê Văn Cường,0900000001
                """, base)
            try await importFile("points", "code,commune_code,session_day,session_time,location\nTB-1,TQ-YS-TB,17,07:30,", base)
            try await importFile("groups", "code,name,commune_code,leader_name,leader_phone,point_code\n"
                + (1...30).map { "G\($0),Tổ \($0),TQ-YS-TB,Tổ trưởng \($0),09100000\(String(format: "%02d", $0)),TB-1" }.joined(separator: "\n"),
                base)
            try await importFile("borrowers", "code,name,group_code,phone,savings_balance\n"
                + (1...Self.loans).map { "B\($0),Hộ vay \($0),G\($0 % 30 + 1),,0" }.joined(separator: "\n"), base)
            // Every loan fell due yesterday (in Vietnam): day 1 of the escalation, one reminder each.
            let yesterday = try await Self.vietnamDay(client, offset: -1)
            try await importFile("loans", "code,borrower_code,program,principal,outstanding,disbursed_on,due_on\n"
                + (1...Self.loans).map { "L\($0),B\($0),Cho vay hộ nghèo,10000000,5000000,2024-01-01,\(yesterday)" }.joined(separator: "\n"),
                base)
            // Deliver at any hour: this test must not wait for 07:00.
            try await client.query("UPDATE reminder_settings SET send_from = '00:00', send_until = '23:59:59'", logger: silentLogger)

            let sink = WebhookSink { _, _ in .init(status: 200, delay: .milliseconds(100)) }
            try await sink.run { url in
                var environment = base
                environment["CREDITOPS_WEBHOOK_URL"] = url
                environment["CREDITOPS_WEBHOOK_SECRET"] = "test-secret"
                let planned = try await CreditOpsProcess.run(["plan", "overdue", "--json"], environment: environment)
                #expect(planned.status == 0, "\(planned.stderr)")
                #expect(planned.stdout.contains(#""created" : \#(Self.loans)"#))

                let arguments = ["worker", "--queues", "reminders", "--concurrency", "\(Self.concurrency)", "--lease-seconds", "2",
                                 "--leader-ttl-seconds", "2", "--log-level", "warning"]
                let first = try CreditOpsProcess.start(arguments, environment: environment)
                defer { first.kill(signal: SIGKILL) }
                #expect(try await eventually(timeout: .seconds(60)) { sink.requests.count >= 60 })
                first.kill(signal: SIGKILL)
                #expect(await first.wait(timeout: .seconds(10)))
                // Requests the killed worker had written may still be read by the sink a moment
                // after the kill; none can be read after the second worker starts.
                let secondStarted = ContinuousClock.now

                let second = try CreditOpsProcess.start(arguments, environment: environment)
                defer { second.kill(signal: SIGKILL) }
                let allSent = try await eventually(timeout: .seconds(90)) {
                    try await Self.count(client, "SELECT count(*) FROM notifications WHERE state = 'sent'") == Self.loans
                }
                #expect(allSent, "\(second.stderr())")
                second.kill(signal: SIGTERM)
                #expect(await second.wait(timeout: .seconds(20)))

                let counts = sink.countsByKey
                var keys: [String] = []
                for try await key in try await client.query("SELECT idempotency_key FROM notifications", logger: silentLogger).decode(String.self) {
                    keys.append(key)
                }
                #expect(Set(keys) == Set(counts.keys), "every outbox key reached the sink, and nothing else did")
                let repeated = counts.filter { $0.value > 1 }
                print("delivery kill test: \(sink.requests.count) requests for \(keys.count) notifications, \(repeated.count) repeated")
                #expect(repeated.count <= Self.concurrency, "only requests in flight at the kill repeat")
                for key in repeated.keys {
                    let first = sink.requests.first { $0.idempotencyKey == key }!
                    #expect(first.at < secondStarted, "\(key) was repeated but the killed worker never sent it")
                }
                #expect(try await Self.count(client, "SELECT count(*) FROM jobs WHERE state = 'running'") == 0)
            }
        }
    }

    static func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: silentLogger).decode(Int.self) {
            return value
        }
        return -1
    }

    static func vietnamDay(_ client: PostgresClient, offset: Int) async throws -> String {
        let sql = "SELECT ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + \(offset))::text"
        for try await day in try await client.query(PostgresQuery(unsafeSQL: sql), logger: silentLogger).decode(String.self) {
            return day
        }
        return ""
    }
}

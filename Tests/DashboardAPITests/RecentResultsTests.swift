@testable import DashboardAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Synchronization
import Testing
import TestSupport

/// Dashboards reused for a second: one read for many requests, never older than the lifetime,
/// and a write through the forms shown at once.
@Suite struct RecentResultsTests {
    @Test func concurrentRequestsShareOneReadAndAValueLivesOnlyItsLifetime() async throws {
        let results = RecentResults<Int>(lifetime: .milliseconds(300))
        let reads = Mutex(0)
        let read: @Sendable () async throws -> Int = {
            let count = reads.withLock { $0 += 1; return $0 }
            try await Task.sleep(for: .milliseconds(100))
            return count
        }
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await results.value("unit", load: read) } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(values == Array(repeating: 1, count: 20), "twenty requests, one read")
        #expect(try await results.value("unit", load: read) == 1, "still fresh")
        #expect(try await results.value("other", load: read) == 2, "another key reads on its own")
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await results.value("unit", load: read) == 3, "older than its lifetime: read again")
        results.forgetAll()
        #expect(try await results.value("unit", load: read) == 4, "forgotten after a write")
    }

    @Test func nearTheEndOfItsLifetimeAValueIsServedWhileItsReplacementIsRead() async throws {
        let results = RecentResults<Int>(lifetime: .seconds(4))
        let reads = Mutex(0)
        // The second read waits (10 s at most) until the test lets it go: a request that waited
        // for it would get 2, late.
        let released = Mutex(false)
        let read: @Sendable () async throws -> Int = {
            let count = reads.withLock { $0 += 1; return $0 }
            for _ in 0..<1_000 where count == 2 && !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            return count
        }
        #expect(try await results.value("unit", load: read) == 1)
        // In the last 30 % of its lifetime (1.2 s): served at once, and the next read begins.
        try await Task.sleep(for: .milliseconds(3_200))
        #expect(try await results.value("unit", load: read) == 1, "served while the next read waits")
        #expect(try await results.value("unit", load: read) == 1, "one read in flight, not one a request")
        #expect(try await eventually(timeout: .seconds(5)) { reads.withLock { $0 } == 2 })
        released.withLock { $0 = true }
        let replaced = try await eventually(timeout: .seconds(5)) { try await results.value("unit", load: read) == 2 }
        #expect(replaced, "the read's value replaces the old one without a request waiting for it")
        #expect(reads.withLock { $0 } == 2)
    }

    @Test func aZeroLifetimeReadsForEveryRequest() async throws {
        let results = RecentResults<Int>(lifetime: .zero)
        let reads = Mutex(0)
        let read: @Sendable () async throws -> Int = {
            try await Task.sleep(for: .milliseconds(50))
            return reads.withLock { $0 += 1; return $0 }
        }
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<5 { group.addTask { try await results.value("unit", load: read) } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(values.sorted() == [1, 2, 3, 4, 5], "five requests, five reads")
    }

    @Test func aReadInFlightDuringAWriteIsNotKept() async throws {
        let results = RecentResults<String>(lifetime: .seconds(60))
        let slowRead = Task { try await results.value("unit") { try await Task.sleep(for: .milliseconds(300)); return "before the write" } }
        try await Task.sleep(for: .milliseconds(50))
        results.forgetAll()
        #expect(try await slowRead.value == "before the write")
        #expect(try await results.value("unit") { "after the write" } == "after the write")
    }

    @Test func aFailedReadIsNotKept() async throws {
        let results = RecentResults<Int>(lifetime: .seconds(60))
        await #expect(throws: HTTPError.self) { try await results.value("unit") { throw HTTPError(.forbidden) } }
        #expect(try await results.value("unit") { 7 } == 7)
    }

    /// With the server's default lifetime: an outside change shows once a second has passed; an
    /// officer's write through the forms shows on the very next page.
    @Test func theDashboardShowsOutsideChangesWithinASecondAndItsOwnWritesAtOnce() async throws {
        try await DashboardAPITests.withApp(resultLifetime: .seconds(1)) { client, fixture, database in
            @Sendable func page() async throws -> String { try await DashboardNavigationTests.page(client, "/dashboard/C1", fixture.officer) }
            #expect(try await page().contains("chưa có kết quả"))
            _ = try await database.query("""
                INSERT INTO followups (loan_id, due_on, overdue_days, planned_on, outcome)
                SELECT id, due_on, 7, due_on + 7, 'paid' FROM loans WHERE code = 'L2'
                """, logger: DashboardAPITests.logger)
            // The page kept before the change is at most a second old: once a second has passed, the next page has it.
            try await Task.sleep(for: .milliseconds(1_050))
            #expect(try await page().contains("<td>đã trả</td>"))

            var headers = DashboardAPITests.bearer(fixture.officer)
            headers[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/dashboard/C1/followup/1", method: .post, headers: headers,
                                     body: ByteBuffer(string: "outcome=moved_away")) { #expect($0.status == .seeOther) }
            #expect(try await page().contains("đã chuyển đi"), "the writer's next page, without waiting")
        }
    }
    /// `/ops`'s overview is shared the same way: an outside change within a second, a pause
    /// through the page (or the API) on the very next page.
    @Test func theOpsPageShowsOutsideChangesWithinASecondAndItsOwnWritesAtOnce() async throws {
        try await DashboardAPITests.withApp(resultLifetime: .seconds(1)) { client, fixture, database in
            @Sendable func queues() async throws -> String {
                let (_, _, page) = try await OpsSearchTests.ops(client, "", fixture.staff)
                return page.components(separatedBy: "<div id=\"queues\">").last?.components(separatedBy: "</div>").first ?? ""
            }
            #expect(try await !queues().contains("<td>sms</td>"))
            _ = try await database.query("INSERT INTO jobs (queue, kind) VALUES ('sms', 'noop')", logger: DashboardAPITests.logger)
            try await Task.sleep(for: .milliseconds(1_050))
            #expect(try await queues().contains("<td>sms</td><td>1</td>"), "an outside change, a second later")

            let (status, _, _) = try await OpsActionTests.post(client, "/ops/queues/sms/pause", fixture.staff, "confirm=yes")
            #expect(status == .seeOther)
            #expect(try await queues().contains("/ops/queues/sms/resume"), "the operator's own pause, at once")
            var headers = DashboardAPITests.bearer(fixture.staff)
            headers[.contentType] = "application/json"
            try await client.execute(uri: "/api/v1/queues/sms/resume", method: .post, headers: headers) { #expect($0.status == .ok) }
            #expect(try await queues().contains("/ops/queues/sms/pause"), "a resume through the API, at once")
        }
    }
}

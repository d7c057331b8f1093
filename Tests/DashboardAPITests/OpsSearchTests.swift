@testable import DashboardAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import JobQueue
import PostgresNIO
import Testing
import CreditWorkers

/// `/ops` as a place to find things: a job by its id or by a code in its arguments, the worker
/// processes and the periodic jobs, times in Vietnam's time.
@Suite struct OpsSearchTests {
    static func ops(_ client: any TestClientProtocol, _ query: String, _ token: String) async throws -> (HTTPResponse.Status, String, String) {
        try await client.execute(uri: "/ops?\(query)", method: .get, headers: DashboardAPITests.bearer(token)) { response in
            (response.status, response.headers[.location] ?? "", String(buffer: response.body))
        }
    }

    @Test func aJobIsFoundByItsIdOrByACodeInItsArguments() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            let first = try await queue.enqueue(NewJob(kind: "noop", argsJSON: #"{"loan": "HD00001234", "step": 7}"#, meta: ["unit": "C1"]))
            let second = try await queue.enqueue(NewJob(kind: "noop", argsJSON: #"{"loan": "HD00009999"}"#, meta: ["unit": "C3"]))
            let third = try await queue.enqueue(NewJob(kind: "noop", argsJSON: #"{"unit": "T01-H03", "year": 2026}"#))

            var (status, location, page) = try await Self.ops(client, "q=HD00001234", fixture.staff)
            #expect(status == .ok)
            #expect(page.contains("/ops/jobs/\(first)\"") && !page.contains("/ops/jobs/\(second)\"") && !page.contains("/ops/jobs/\(third)\""))
            (_, _, page) = try await Self.ops(client, "q=loan%3DHD00009999", fixture.staff)
            #expect(page.contains("/ops/jobs/\(second)\"") && !page.contains("/ops/jobs/\(first)\""))
            (_, _, page) = try await Self.ops(client, "q=%7B%22year%22%3A2026%7D", fixture.staff)
            #expect(page.contains("/ops/jobs/\(third)\"") && !page.contains("/ops/jobs/\(first)\""))
            #expect(page.contains(#"value="{&quot;year&quot;:2026}""#), "the search stays in its box")

            (status, location, _) = try await Self.ops(client, "q=\(second)", fixture.staff)
            #expect(status == .seeOther && location == "/ops/jobs/\(second)")
            (status, _, page) = try await Self.ops(client, "q=987654", fixture.staff)
            #expect(status == .ok && page.contains("Không tìm thấy công việc 987654."))
            // A district's operator finds its own subtree's jobs only, by id as by arguments.
            (status, _, page) = try await Self.ops(client, "q=\(second)", fixture.districtOperator)
            #expect(status == .ok && page.contains("Không tìm thấy công việc \(second)."))
            (_, _, page) = try await Self.ops(client, "q=HD00009999", fixture.districtOperator)
            #expect(!page.contains("/ops/jobs/\(second)\""))
            (status, _, page) = try await Self.ops(client, "q=%7Bnot+json", fixture.staff)
            #expect(status == .badRequest && page.contains("not one"))
        }
    }

    @Test func theChartsShowWhatTheWorkersFinishedPerMinuteAndPerHour() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            _ = try await database.query("""
                INSERT INTO job_outcome_counts (minute, queue, worker, completed, failed, discarded)
                VALUES (date_trunc('minute', now()), 'reminders', 'w1', 9, 2, 0),
                       (date_trunc('minute', now()), 'reminders', 'w2', 3, 0, 1),
                       (date_trunc('minute', now()) - interval '5 hours', 'reminders', 'w1', 40, 0, 0),
                       (date_trunc('minute', now()) - interval '3 days', 'reminders', 'w1', 1000, 0, 0)
                """, logger: DashboardAPITests.logger)
            let (status, _, page) = try await Self.ops(client, "", fixture.staff)
            #expect(status == .ok)
            #expect(page.contains(#"aria-label="Hàng đợi reminders, 60 phút qua, từng phút: 12 hoàn thành, 2 lỗi sẽ thử lại, 1 bị loại""#))
            #expect(page.contains(#"aria-label="Hàng đợi reminders, 24 giờ qua, từng giờ: 52 hoàn thành, 2 lỗi sẽ thử lại, 1 bị loại""#))
            #expect(page.contains("<td>reminders</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>52</td>"), "the day's completed count")
            // The current minute's bar names its figures on hover.
            #expect(page.contains(": 12 hoàn thành, 2 lỗi, 1 bị loại</title>"))
            let (_, _, district) = try await Self.ops(client, "", fixture.districtOperator)
            #expect(!district.contains("Kết quả theo thời gian"), "the charts are the whole queue's: the root's operators only")
        }
    }

    @Test func theWorkersAndThePeriodicJobsAreListedInVietnamsTime() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            let made = try await queue.enqueue(NewJob(kind: "noop"))
            _ = try await database.query("""
                INSERT INTO queue_workers (id, host, pid, queues, concurrency, lease_seconds, started_at, last_seen_at, running)
                VALUES ('w-live', 'may-chu-1', 4242, '{reminders,aggregates}', 8, 30, now() - interval '1 hour', now(), 3),
                       ('w-gone', 'may-chu-2', 777, '{default}', 4, 30, now() - interval '2 hours', now() - interval '10 minutes', 1)
                """, logger: DashboardAPITests.logger)
            _ = try await database.query("""
                INSERT INTO periodic_jobs (name, schedule, last_scheduled_at, last_job_id, next_run_at)
                VALUES ('aggregates-refresh', '5 0 * * *', TIMESTAMPTZ '2026-11-30 17:05:00+00', \(made), TIMESTAMPTZ '2026-12-01 17:05:00+00')
                """, logger: DashboardAPITests.logger)
            let (_, _, page) = try await Self.ops(client, "", fixture.staff)
            #expect(page.contains("<h2>Tiến trình xử lý</h2>"))
            #expect(page.contains("<td>may-chu-1</td><td>4242</td><td>reminders, aggregates</td><td>8</td><td>3</td>"))
            #expect(page.contains("<td>hoạt động</td>"))
            #expect(page.contains(#"<td>may-chu-2</td>"#) && page.contains(#"<span class="error">mất liên lạc</span>"#))
            #expect(page.contains("<h2>Việc định kỳ</h2>"))
            // 17:05 UTC is 00:05 the next day in Vietnam; the UTC moment is on hover.
            #expect(page.contains(#"<time datetime="2026-11-30T17:05:00Z" title="2026-11-30T17:05:00Z (UTC)">00:05:00 01/12/2026</time>"#))
            #expect(page.contains("<a href=\"/ops/jobs/\(made)\">\(made)</a> (Chờ chạy)"))
            // Below the root: neither section.
            let (_, _, below) = try await Self.ops(client, "", fixture.districtOperator)
            #expect(!below.contains("Tiến trình xử lý") && !below.contains("Việc định kỳ"))
        }
    }

    @Test func searchTextIsReadAsAnIdAJSONObjectAKeyAndValueOrAValue() throws {
        #expect(try OpsSearch.parse(" 42 ") == .job(42))
        #expect(try OpsSearch.parse("loan = HD1") == .argsContaining(#"{"loan":"HD1"}"#))
        #expect(try OpsSearch.parse(#"{"unit":"T01"}"#) == .argsContaining(#"{"unit":"T01"}"#))
        #expect(try OpsSearch.parse("HD1") == .argsValue("HD1"))
        #expect(throws: HTTPError.self) { try OpsSearch.parse("{oops") }
        #expect(throws: HTTPError.self) { try OpsSearch.parse(" ") }
    }
}

/// `/ops` asks before it stops work, and a refused or failed action goes back to the page with
/// its reason, never to a bare error.
@Suite struct OpsActionTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func post(_ client: any TestClientProtocol, _ path: String, _ token: String, _ body: String) async throws -> (HTTPResponse.Status, String, String) {
        try await client.execute(uri: path, method: .post, headers: DashboardAPITests.bearer(token).merging(form), body: ByteBuffer(string: body)) {
            ($0.status, $0.headers[.location] ?? "", String(buffer: $0.body))
        }
    }

    @Test func cancelAndPauseAskFirstAndARefusalComesBackWithItsReason() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            let id = try await queue.enqueue(NewJob(kind: "noop", queue: "reminders", runAt: Date().addingTimeInterval(3600), meta: ["unit": "C1"]))
            var (status, location, page) = try await Self.post(client, "/ops/jobs/\(id)/cancel", fixture.staff, "")
            #expect(status == .ok && page.contains("Hủy công việc \(id) (noop)?") && page.contains(#"action="/ops/jobs/\#(id)/cancel""#))
            #expect(try await queue.job(id: id).state == .scheduled, "asking changes nothing")
            (status, location, _) = try await Self.post(client, "/ops/jobs/\(id)/cancel", fixture.staff, "confirm=yes")
            #expect(status == .seeOther && location == "/ops/jobs/\(id)")
            #expect(try await queue.job(id: id).state == .cancelled)

            // Cancelling it again is refused: back on the job's page, with the reason.
            (status, location, _) = try await Self.post(client, "/ops/jobs/\(id)/cancel", fixture.staff, "confirm=yes")
            #expect(status == .seeOther && location.hasPrefix("/ops/jobs/\(id)?message="), "\(location)")
            let shown = try await client.execute(uri: location, method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { String(buffer: $0.body) }
            #expect(shown.contains(#"<p class="error" role="alert">"#) && shown.contains("cancelled"), "\(shown.prefix(600))")

            // A district's operator may not pause a queue: back to /ops, saying who may.
            (status, location, _) = try await Self.post(client, "/ops/queues/reminders/pause", fixture.districtOperator, "confirm=yes")
            #expect(status == .seeOther && (location.removingPercentEncoding ?? "").contains("needs an operator of the root unit"), "\(location)")
            (status, _, page) = try await Self.post(client, "/ops/queues/reminders/pause", fixture.staff, "")
            #expect(status == .ok && page.contains("Tạm dừng hàng đợi reminders?"))
            #expect(try await queue.stats().first { $0.queue == "reminders" }?.paused != true)
            // "Run now" of a periodic job: its job for a period starting now, the schedule untouched.
            let page2 = try await client.execute(uri: "/ops", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { String(buffer: $0.body) }
            #expect(page2.contains(#"<form method="post" action="/ops/periodic/aggregates-refresh/run">"#))
            (status, location, _) = try await Self.post(client, "/ops/periodic/aggregates-refresh/run", fixture.staff, "")
            #expect(status == .seeOther && location.hasPrefix("/ops/jobs/"), "\(location)")
            let made = try #require(Int64(location.dropFirst("/ops/jobs/".count)))
            #expect(try await queue.job(id: made).kind == "aggregates.rebuild")
            #expect(try await queue.periodicJobs().isEmpty, "the schedule's own periods stay as they were")
            (status, location, _) = try await Self.post(client, "/ops/periodic/aggregates-refresh/run", fixture.districtOperator, "")
            #expect(status == .seeOther && (location.removingPercentEncoding ?? "").contains("needs an operator of the root unit"))
            (status, location, _) = try await Self.post(client, "/ops/periodic/nothing-like-it/run", fixture.staff, "")
            #expect((location.removingPercentEncoding ?? "").contains("no periodic job nothing-like-it"))

            let audit = try await database.query("SELECT count(*)::int8 FROM audit_events WHERE action = 'queue.pause'", logger: DashboardAPITests.logger)
                .decode(Int64.self).first { _ in true }
            #expect(audit == 1, "the refused pause is in the trail; asking is not")
        }
    }
}

@Suite struct OpsJobPageTests {
    @Test func aJobsPageTellsItsStoryInOrderWithItsPriorityUnitAndMeta() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let id = try await database.query("""
                INSERT INTO jobs (queue, kind, state, attempt, max_attempts, priority, meta, created_at, attempted_at, attempted_by, finalized_at, errors)
                VALUES ('reminders', 'noop', 'discarded', 2, 2, 3, '{"unit": "C1", "source": "test"}', TIMESTAMPTZ '2026-11-30 23:00:00+00',
                        TIMESTAMPTZ '2026-11-30 23:10:00+00', 'may-chu-1:4242', TIMESTAMPTZ '2026-11-30 23:10:05+00',
                        '[{"attempt":1,"at":"2026-11-30T23:05:00Z","error":"gateway said no"},{"attempt":2,"at":"2026-11-30T23:10:05Z","error":"still no"}]')
                RETURNING id
                """, logger: DashboardAPITests.logger).decode(Int64.self).first { _ in true } ?? 0
            let page = try await client.execute(uri: "/ops/jobs/\(id)", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { String(buffer: $0.body) }
            #expect(page.contains("<tr><th>Độ ưu tiên</th><td>3</td></tr><tr><th>Đơn vị</th><td>C1</td></tr>"))
            #expect(page.contains("<tr><th>Meta</th><td>source=test</td></tr>"))
            let timeline = page.components(separatedBy: #"<ol class="timeline">"#).dropFirst().first?.components(separatedBy: "</ol>").first ?? ""
            let order = ["Tạo, hàng đợi reminders", "Lần thử 1 lỗi: gateway said no", "Lần thử 2 bắt đầu trên may-chu-1:4242",
                         "Lần thử 2 lỗi: still no", "Kết thúc: Bị loại"].map { timeline.range(of: $0)?.lowerBound }
            #expect(!order.contains(nil), "\(timeline)")
            #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "in the order they happened: \(timeline)")
            #expect(timeline.contains("06:00:00 01/12/2026"), "23:00 UTC is 06:00 in Vietnam")
        }
    }
}

@Suite struct OpsBulkTests {
    @Test func everyJobAFilterMatchesIsRetriedCancelledOrDeletedAfterAskingWithTheCount() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            func make(_ queueName: String, _ state: String, unit: String = "C1") async throws -> Int64 {
                try await database.query("""
                    INSERT INTO jobs (queue, kind, state, attempt, max_attempts, meta, finalized_at)
                    VALUES (\(queueName), 'noop', \(state)::job_state, 1, 1, jsonb_build_object('unit', \(unit)::text),
                            CASE WHEN \(state) IN ('completed', 'discarded', 'cancelled') THEN now() END)
                    RETURNING id
                    """, logger: DashboardAPITests.logger).decode(Int64.self).first { _ in true } ?? 0
            }
            let discarded = [try await make("reminders", "discarded"), try await make("reminders", "discarded"), try await make("reminders", "discarded", unit: "C3")]
            let elsewhere = try await make("aggregates", "discarded")
            let done = try await make("reminders", "completed")

            let page = try await client.execute(uri: "/ops?state=discarded&queue=reminders", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) {
                String(buffer: $0.body)
            }
            #expect(page.contains(#"action="/ops/bulk/retry?state=discarded&amp;queue=reminders""#))
            var (status, location, body) = try await OpsActionTests.post(client, "/ops/bulk/retry?state=discarded&queue=reminders", fixture.staff, "")
            #expect(status == .ok && body.contains("3 công việc khớp bộ lọc") && body.contains("Chạy lại 3 công việc"))
            #expect(try await queue.job(id: discarded[0]).state == .discarded, "asking changes nothing")
            (status, location, _) = try await OpsActionTests.post(client, "/ops/bulk/retry?state=discarded&queue=reminders", fixture.staff, "confirm=yes")
            #expect(status == .seeOther && location.hasPrefix("/ops?state=discarded&queue=reminders&message="), "\(location)")
            #expect((location.removingPercentEncoding ?? "").contains("Chạy lại: 3 trong 3 công việc"))
            for id in discarded { #expect(try await queue.job(id: id).state == .available) }
            #expect(try await queue.job(id: elsewhere).state == .discarded, "another queue is not in the filter")
            let audit = try await database.query(
                "SELECT target FROM audit_events WHERE action = 'jobs.bulk-retry'", logger: DashboardAPITests.logger).decode(String.self)
            var targets: [String] = []
            for try await target in audit { targets.append(target) }
            #expect(targets == ["filter state=discarded&queue=reminders: 3 matching"], "one row with the filter and the count")

            // A district's operator cancels within its subtree only.
            (status, location, _) = try await OpsActionTests.post(client, "/ops/bulk/cancel?queue=reminders", fixture.districtOperator, "confirm=yes")
            #expect((location.removingPercentEncoding ?? "").contains("Hủy: 2 trong 3 công việc"), "\(location)")
            #expect(try await queue.job(id: discarded[2]).state == .available, "C3 lies outside D1")
            // Delete touches finished jobs only.
            (status, location, _) = try await OpsActionTests.post(client, "/ops/bulk/delete?queue=reminders", fixture.staff, "confirm=yes")
            #expect((location.removingPercentEncoding ?? "").contains("Xóa: 3 trong 4 công việc"), "\(location)")
            #expect((try? await queue.job(id: done)) == nil)
            #expect(try await queue.job(id: discarded[2]).state == .available, "a pending job is never deleted")
        }
    }

    @Test func aBulkRetryKeepsToTheTimeRangeAndUnitOfTheFilter() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            // Created at 08:00, 09:30 and 11:00 Vietnam time on 1 December 2026 (01:00, 02:30, 04:00 UTC).
            var ids: [Int64] = []
            for (created, unit) in [("2026-12-01 01:00:00+00", "C1"), ("2026-12-01 02:30:00+00", "C1"), ("2026-12-01 02:40:00+00", "C3"),
                                    ("2026-12-01 04:00:00+00", "C1")] {
                ids.append(try await database.query("""
                    INSERT INTO jobs (kind, state, attempt, max_attempts, meta, created_at, finalized_at)
                    VALUES ('noop', 'discarded', 1, 1, jsonb_build_object('unit', \(unit)::text), \(created)::timestamptz, now())
                    RETURNING id
                    """, logger: DashboardAPITests.logger).decode(Int64.self).first { _ in true } ?? 0)
            }
            let filter = "state=discarded&meta.unit=C1&created_after=2026-12-01T09%3A00&created_before=2026-12-01T10%3A00"
            let page = try await client.execute(uri: "/ops?\(filter)", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) {
                String(buffer: $0.body)
            }
            #expect(page.contains(#"name="created_after" value="2026-12-01T09:00""#), "the range stays in the form")
            #expect(page.contains("/ops/jobs/\(ids[1])\"") && !page.contains("/ops/jobs/\(ids[0])\"") && !page.contains("/ops/jobs/\(ids[2])\""))
            let (status, location, _) = try await OpsActionTests.post(client, "/ops/bulk/retry?\(filter)", fixture.staff, "confirm=yes")
            #expect(status == .seeOther && (location.removingPercentEncoding ?? "").contains("Chạy lại: 1 trong 1 công việc"), "\(location)")
            #expect(try await [queue.job(id: ids[0]).state, queue.job(id: ids[1]).state, queue.job(id: ids[2]).state, queue.job(id: ids[3]).state]
                    == [.discarded, .available, .discarded, .discarded])
            // An offset written out is read as written; a range the wrong way round is refused by name.
            let api = try await client.execute(
                uri: "/api/v1/jobs?created_after=2026-12-01T03:00:00Z", method: .get, headers: DashboardAPITests.bearer(fixture.staff)
            ) { String(buffer: $0.body) }
            #expect(api.contains("\"id\":\(ids[3])") && !api.contains("\"id\":\(ids[1])"))
            let (refused, _, reason) = try await OpsSearchTests.ops(client, "created_after=2026-12-01T10%3A00&created_before=2026-12-01T09%3A00", fixture.staff)
            #expect(refused == .badRequest && reason.contains("created_after: must be earlier than created_before"))
            let (unreadable, _, why) = try await OpsSearchTests.ops(client, "created_after=yesterday", fixture.staff)
            #expect(unreadable == .badRequest && why.contains("created_after: expected a moment like 2026-12-01T08:00"))
        }
    }
}

import CreditWorkers
import Foundation
import Hummingbird
import HummingbirdTesting
import JobQueue
import Testing

/// `POST /api/v1/jobs` with the queue's options: uniqueness and dependencies.
@Suite struct EnqueueOptionsAPITests {
    static func post(_ client: any TestClientProtocol, _ token: String, _ body: String) async throws -> (status: Int, json: [String: Any]?, text: String) {
        try await client.execute(
            uri: "/api/v1/jobs", method: .post, headers: DashboardAPITests.bearer(token), body: ByteBuffer(string: body)
        ) { response in
            let text = String(buffer: response.body)
            return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], text)
        }
    }

    @Test func uniqueByArgumentsWithinADayReturnsTheQueuedJob() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let body = #"{"kind":"noop","args":{},"run_at":"2030-01-01T00:00:00Z","unique":{"by":"args","period_seconds":86400,"on_conflict":"push_run_at"}}"#
            let first = try await Self.post(client, fixture.staff, body)
            #expect(first.status == 201)
            let pushed = try await Self.post(client, fixture.staff, body.replacingOccurrences(of: "2030-01-01", with: "2030-02-01"))
            #expect(pushed.status == 201)
            #expect(pushed.json?["id"] as? Int == first.json?["id"] as? Int)
            #expect((pushed.json?["runAt"] as? String)?.hasPrefix("2030-02-01") == true)

            let bad = try await Self.post(client, fixture.staff, #"{"kind":"noop","unique":{"by":"args","on_conflict":"merge"}}"#)
            #expect(bad.status == 400)
            #expect(bad.text.contains("on conflict 'merge': expected keep, replace-args or push-run-at"))
            let unknown = try await Self.post(client, fixture.staff, #"{"kind":"noop","unique":{"by":"args","within":1}}"#)
            #expect(unknown.status == 400)
            #expect(unknown.text.contains("unique.within: unknown field"))
        }
    }

    @Test func aJobWaitsForTheJobsItDependsOn() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            let parent = try await Self.post(client, fixture.staff, #"{"kind":"noop","run_at":"2030-01-01T00:00:00Z"}"#)
            let parentID = try #require(parent.json?["id"] as? Int)
            let child = try await Self.post(client, fixture.staff, #"{"kind":"noop","depends_on":[\#(parentID)]}"#)
            #expect(child.status == 201)
            #expect(child.json?["state"] as? String == "waiting")
            #expect(child.json?["dependsOn"] as? [Int] == [parentID])

            let missing = try await Self.post(client, fixture.staff, #"{"kind":"noop","depends_on":[987654]}"#)
            #expect(missing.status == 400)
            #expect(missing.text.contains("a job cannot depend on job 987654: no such job"))
            let malformed = try await Self.post(client, fixture.staff, #"{"kind":"noop","depends_on":"12"}"#)
            #expect(malformed.status == 400)
            #expect(malformed.text.contains("depends_on: expected an array of job ids"))
        }
    }
}

import JobQueue
import CreditDomain
import CreditWorkers
import Hummingbird
import Foundation
import Logging
import PostgresNIO

/// What `/api/v1/units/{code}/summary` and the dashboard show of a unit's subtree.
struct UnitSummary: Codable, Sendable {
    struct Session: Codable, Sendable {
        var point: String
        /// The month the session belongs to (YYYY-MM): a moved session may fall in another.
        var month: String?
        var communeCode: String?
        var commune: String
        var location: String
        var date: String
        var time: String
    }

    struct Reports: Codable, Sendable {
        var open: Int
        var late: Int
        var submittedThisYear: Int
    }

    /// A report not submitted yet, earliest due first.
    struct OpenReport: Codable, Sendable {
        var id: Int64?
        var report: String
        var unit: String
        var unitCode: String?
        var period: String
        var due: String
        var daysLate: Int
    }

    var unit: String
    var name: String
    var level: String
    /// From the token's own unit down to this one, both included.
    var path: [UnitPath.Step]
    var loans: UnitFigures.Loans?
    var nextSessions: [Session]
    var openFollowups: Int
    var reports: Reports
    var openReports: [OpenReport]
    var remindersSent30Days: Int
    var remindersFailed30Days: Int
    /// Not sent because their moment had passed (a gateway down past a session's start).
    var remindersExpired30Days: Int
    /// Sent after their day ("nhắc muộn"): planned for a day the leader missed.
    var remindersLate30Days: Int
    /// Not sent because the recipient opted out (`creditops recipients opt-out`).
    var remindersOptedOut30Days: Int
    var updatedAt: Date?

    /// What the summary statement answers: whether the unit lies within the scope, and its JSON.
    struct Row: Sendable {
        var visible: Bool
        var json: String
    }

    /// The summary of the unit with `code` as JSON: 404 for an unknown code, 403 outside `scope`.
    /// With `recent`, a result at most a second old may be used.
    static func json(code: String, scope: AccessScope, client: PostgresClient, logger: Logger,
                     recent: RecentResults<Row?>? = nil) async throws -> String {
        guard !code.isEmpty, code.count <= 200 else { throw HTTPError(.badRequest, message: "unit code: expected 1 to 200 characters") }
        let today = JobKinds.vietnamToday().iso
        let read: @Sendable () async throws -> Row? = {
            for try await (_, visible, json) in try await client.run(
                SummaryStatement(code: code, scopeUnitID: scope.unitID, today: today), logger: logger)
            {
                return Row(visible: visible, json: json)
            }
            return nil
        }
        let row: Row?
        if let recent {
            row = try await recent.value("\(code)\u{1}\(scope.unitID)\u{1}\(today)", load: read)
        } else {
            row = try await read()
        }
        guard let row else { throw HTTPError(.notFound, message: "unknown unit \(code)") }
        guard row.visible else { throw HTTPError(.forbidden, message: "unit \(code) is outside this token's units") }
        return row.json
    }

    /// The same, decoded, for the dashboard page.
    static func load(code: String, scope: AccessScope, client: PostgresClient, logger: Logger) async throws -> UnitSummary {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(UnitSummary.self, from: Data(try await json(code: code, scope: scope, client: client, logger: logger).utf8))
    }
}

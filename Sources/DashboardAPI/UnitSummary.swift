import CreditDomain
import CreditWorkers
import Hummingbird
import Foundation
import Logging
import PostgresNIO

/// What `/api/v1/units/{code}/summary` and the dashboard show of a unit's subtree.
struct UnitSummary: Codable, Sendable, ResponseEncodable {
    struct Session: Codable, Sendable {
        var point: String
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
        var report: String
        var unit: String
        var period: String
        var due: String
        var daysLate: Int
    }

    var unit: String
    var name: String
    var level: String
    var loans: UnitFigures.Loans?
    var nextSessions: [Session]
    var openFollowups: Int
    var reports: Reports
    var openReports: [OpenReport]
    var remindersSent30Days: Int
    var remindersFailed30Days: Int
    var updatedAt: Date?

    /// The summary of the unit with `code`: 404 for an unknown code, 403 outside `scope`.
    static func load(code: String, scope: AccessScope, client: PostgresClient, logger: Logger) async throws -> UnitSummary {
        guard !code.isEmpty, code.count <= 200 else { throw HTTPError(.badRequest, message: "unit code: expected 1 to 200 characters") }
        let today = JobKinds.vietnamToday().iso
        for try await row in try await client.execute(SummaryStatement(code: code, scopeUnitID: scope.unitID, today: today), logger: logger) {
            let cells = row.makeRandomAccess()
            guard try cells[4].decode(Bool.self) else { throw HTTPError(.forbidden, message: "unit \(code) is outside this token's units") }
            var summary = UnitSummary(
                unit: try cells[1].decode(String.self), name: try cells[2].decode(String.self), level: try cells[3].decode(String.self),
                loans: nil, nextSessions: [], openFollowups: try cells[5].decode(Int.self),
                reports: Reports(open: try cells[6].decode(Int.self), late: try cells[7].decode(Int.self),
                                 submittedThisYear: try cells[8].decode(Int.self)),
                openReports: try JSONDecoder().decode([OpenReport].self, from: Data(try cells[23].decode(String.self).utf8)),
                remindersSent30Days: try cells[9].decode(Int.self), remindersFailed30Days: try cells[10].decode(Int.self),
                updatedAt: try cells[11].decode(Date?.self))
            if let asOf = try cells[12].decode(String?.self) {
                summary.loans = UnitFigures.Loans(
                    asOf: asOf, loans: try cells[13].decode(Int.self), outstanding: try cells[14].decode(Int.self),
                    overdueLoans: try cells[15].decode(Int.self), overdueAmount: try cells[16].decode(Int.self),
                    overdueRatio: try cells[17].decode(Double?.self), members: try cells[18].decode(Int.self),
                    savers: try cells[19].decode(Int.self), savingsParticipation: try cells[20].decode(Double?.self),
                    updatedAt: try cells[21].decode(Date.self))
            }
            summary.nextSessions = try JSONDecoder().decode([Session].self, from: Data(try cells[22].decode(String.self).utf8))
            return summary
        }
        throw HTTPError(.notFound, message: "unknown unit \(code)")
    }
}

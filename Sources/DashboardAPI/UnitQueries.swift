import JobQueue
import CreditDomain
import CreditWorkers
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The unit a path names, checked against a token's scope: 404 for an unknown code, 403 for a
/// unit outside the token's subtree.
struct UnitLookup {
    let client: PostgresClient
    let logger: Logger

    struct Unit {
        var id: Int64
        var code: String
        var name: String
        var level: String
    }

    func unit(code: String, scope: AccessScope) async throws -> Unit {
        guard !code.isEmpty, code.count <= 200 else { throw HTTPError(.badRequest, message: "unit code: expected 1 to 200 characters") }
        for try await (id, code, name, level, visible) in try await client.run(
            UnitInScopeStatement(code: code, scopeUnitID: scope.unitID), logger: logger)
        {
            guard visible else { throw HTTPError(.forbidden, message: "unit \(code) is outside this token's units") }
            return Unit(id: id, code: code, name: name, level: level)
        }
        throw HTTPError(.notFound, message: "unknown unit \(code)")
    }
}

/// `year` from a query string: absent → this year in Vietnam; anything else → 400 naming it.
func yearParameter(_ request: Request) throws -> Int {
    guard let text = request.uri.queryParameters["year"].map(String.init) else { return JobKinds.vietnamToday().year }
    guard text.count == 4, let year = Int(text), (1900...2200).contains(year) else {
        throw HTTPError(.badRequest, message: "year: expected a year YYYY, got '\(text.prefix(20))'")
    }
    return year
}

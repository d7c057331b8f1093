import CreditWorkers
import Logging
import PostgresNIO

/// The units from a principal's own unit down to the one on the page: the breadcrumb. A viewer
/// never sees a unit above its own, so the walk up stops there.
struct UnitPath: Sendable {
    struct Step: Sendable, Equatable {
        var code: String
        var name: String
    }

    var steps: [Step]

    static func load(code: String, scope: AccessScope, client: PostgresClient, logger: Logger) async throws -> UnitPath {
        // Units are at most a few levels deep; the depth bound keeps a corrupt cycle from looping.
        let rows = try await client.query(
            """
            WITH RECURSIVE up AS (
                SELECT id, code, name, parent_id, 0 AS depth FROM units WHERE code = \(code)
                UNION ALL
                SELECT u.id, u.code, u.name, u.parent_id, up.depth + 1
                FROM units u JOIN up ON u.id = up.parent_id
                WHERE up.id <> \(scope.unitID) AND up.depth < 16
            )
            SELECT code, name FROM up ORDER BY depth DESC
            """, logger: logger)
        var steps: [Step] = []
        for try await (code, name) in rows.decode((String, String).self) { steps.append(Step(code: code, name: name)) }
        return UnitPath(steps: steps)
    }
}

import CreditWorkers
import JobQueue
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
        var steps: [Step] = []
        for try await (code, name) in try await client.run(UnitPathStatement(code: code, scopeUnitID: scope.unitID), logger: logger) {
            steps.append(Step(code: code, name: name))
        }
        return UnitPath(steps: steps)
    }
}

/// Prepared, as the summary's statements are: the recursive walk costs more to plan than to run.
struct UnitPathStatement: PostgresPreparedStatement {
    // Units are at most a few levels deep; the depth bound keeps a corrupt cycle from looping.
    static let sql = """
        WITH RECURSIVE up AS (
            SELECT id, code, name, parent_id, 0 AS depth FROM units WHERE code = $1
            UNION ALL
            SELECT u.id, u.code, u.name, u.parent_id, up.depth + 1
            FROM units u JOIN up ON u.id = up.parent_id
            WHERE up.id <> $2 AND up.depth < 16
        )
        SELECT code, name FROM up ORDER BY depth DESC
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .int8]
    typealias Row = (String, String)

    let code: String
    let scopeUnitID: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(code)
        bindings.append(scopeUnitID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

import CreditWorkers
import Hummingbird
import JobQueue
import Logging
import PostgresNIO

/// What each role may do (README "Security"). Every check runs before any expensive query, and a
/// refusal is a 403 that says which role or unit is needed.
struct Permissions: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Jobs, `/ops`: operators only.
    static func requireOperator(_ scope: AccessScope) throws {
        guard scope.role.managesJobs else {
            throw HTTPError(.forbidden, message: "this needs the operator role; this token is a \(scope.role.rawValue)")
        }
    }

    /// Pause, resume, enqueue, and jobs that belong to no unit: an operator of the root unit.
    static func requireRootOperator(_ scope: AccessScope, for action: String) throws {
        try requireOperator(scope)
        guard scope.isRoot else {
            throw HTTPError(.forbidden, message: "\(action) needs an operator of the root unit (a province); this token's unit is \(scope.unitCode)")
        }
    }

    /// The codes of the units an operator below the root may see jobs of; nil for a root operator, who sees all.
    func jobUnits(_ scope: AccessScope) async throws -> [String]? {
        try Self.requireOperator(scope)
        if scope.isRoot { return nil }
        let rows = try await client.query("""
            WITH RECURSIVE down (id, code) AS (
                SELECT id, code FROM units WHERE id = \(scope.unitID)
                UNION ALL
                SELECT u.id, u.code FROM units u JOIN down ON u.parent_id = down.id
            )
            SELECT code FROM down
            """, logger: logger)
        var codes: [String] = []
        for try await code in rows.decode(String.self) { codes.append(code) }
        return codes
    }

    /// The filter narrowed to what `scope` may see.
    func visibleJobs(_ filter: JobFilter, _ scope: AccessScope) async throws -> JobFilter {
        var filter = filter
        if let units = try await jobUnits(scope) { filter.meta = .init(key: "unit", values: units) }
        return filter
    }

    /// A 403 unless `scope` may see and manage `job`; a 404 for a job that does not exist is the caller's.
    func requireVisible(_ job: JobRecord, _ scope: AccessScope) async throws {
        guard let units = try await jobUnits(scope) else { return }
        guard let unit = job.meta["unit"] else {
            throw HTTPError(.forbidden, message: "job \(job.id) belongs to no unit: only an operator of the root unit may manage it")
        }
        guard units.contains(unit) else {
            throw HTTPError(.forbidden, message: "job \(job.id) belongs to unit \(unit), outside this token's units (\(scope.unitCode))")
        }
    }
}

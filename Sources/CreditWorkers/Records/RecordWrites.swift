public import CreditDomain
public import Logging
public import PostgresNIO

/// The domain's staff writes: what came of a follow-up, a loan-use check, a report handed in.
/// Used by the command line (any record) and by the dashboard's forms, which name the unit the
/// page belongs to: a record of another unit is then unknown there, whatever its id.
public struct RecordWrites: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unknownFollowup(Int64, unit: String?)
        case unknownLoan(String, unit: String?)
        case unknownReport(Int64, unit: String?)

        public var description: String {
            func within(_ unit: String?) -> String { unit.map { " in \($0)" } ?? "" }
            switch self {
            case .unknownFollowup(let id, let unit): return "unknown follow-up \(id)\(within(unit))"
            case .unknownLoan(let code, let unit): return "unknown loan \(code.prefix(100))\(within(unit))"
            case .unknownReport(let id, let unit): return "unknown report obligation \(id)\(within(unit))"
            }
        }
    }

    /// Records what came of follow-up `id`; with `commune`, only a follow-up of a loan of that commune.
    public func setOutcome(followup id: Int64, _ input: FollowupOutcomeInput, commune: String? = nil) async throws {
        let rows = try await client.query("""
            UPDATE followups f SET outcome = \(input.outcome.rawValue)::followup_outcome, promised_on = \(input.promisedOn?.iso)::date,
                   note = \(input.note), updated_at = now()
            FROM loans l JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id JOIN units c ON c.id = g.commune_id
            WHERE f.id = \(id) AND l.id = f.loan_id AND (\(commune)::text IS NULL OR c.code = \(commune))
            RETURNING 1
            """, logger: logger)
        guard try await Self.count(rows) == 1 else { throw Failure.unknownFollowup(id, unit: commune) }
    }

    /// Records that loan `code`'s use was checked; with `commune`, only a loan of that commune.
    public func checkLoanUse(loan code: String, _ input: LoanUseCheckInput, commune: String? = nil) async throws {
        let rows = try await client.query("""
            UPDATE loans l SET use_checked_on = \(input.on.iso)::date
            FROM borrowers b JOIN groups g ON g.id = b.group_id JOIN units c ON c.id = g.commune_id
            WHERE l.code = \(code) AND b.id = l.borrower_id AND (\(commune)::text IS NULL OR c.code = \(commune))
            RETURNING 1
            """, logger: logger)
        guard try await Self.count(rows) == 1 else { throw Failure.unknownLoan(code, unit: commune) }
    }

    /// Marks report obligation `id` handed in; with `unit`, only one that unit owes. Its reminders stop.
    public func submitReport(_ id: Int64, _ input: ReportSubmissionInput, unit: String? = nil) async throws {
        let rows = try await client.query("""
            UPDATE report_obligations o SET submitted_on = \(input.on.iso)::date, submitted_by = \(input.by)
            FROM units u
            WHERE o.id = \(id) AND u.id = o.unit_id AND (\(unit)::text IS NULL OR u.code = \(unit))
            RETURNING 1
            """, logger: logger)
        guard try await Self.count(rows) == 1 else { throw Failure.unknownReport(id, unit: unit) }
    }

    private static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}

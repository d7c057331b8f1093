/// What a token may do, beyond seeing its unit's subtree (schema.sql step 7).
public enum AccessRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Dashboards and the read API of its unit's subtree.
    case viewer
    /// A viewer that may also record the domain's writes for its subtree (follow-up outcomes,
    /// loan-use checks, report submissions, session overrides).
    case officer
    /// Jobs and queues: everything on `/ops` for a root unit's operator; below the root, only the
    /// jobs whose unit is in its subtree.
    case `operator`

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// May record follow-up outcomes, loan-use checks, reports and session moves.
    public var writesDomain: Bool { self == .officer }
    /// May see and manage jobs.
    public var managesJobs: Bool { self == .operator }
}

/// Who made a request, and what it may see and do.
public struct AccessScope: Sendable, Equatable {
    public var tokenID: Int64
    public var tokenName: String
    public var unitID: Int64
    public var unitCode: String
    public var role: AccessRole
    /// The token's unit has no parent (a province): queue-wide actions are allowed to its operators.
    public var isRoot: Bool
    /// When the token stops working.
    public var expiresAt: Double

    public init(tokenID: Int64, tokenName: String, unitID: Int64, unitCode: String, role: AccessRole, isRoot: Bool, expiresAt: Double) {
        self.tokenID = tokenID
        self.tokenName = tokenName
        self.unitID = unitID
        self.unitCode = unitCode
        self.role = role
        self.isRoot = isRoot
        self.expiresAt = expiresAt
    }
}

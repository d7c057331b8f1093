import Crypto
import JobQueue
public import Foundation
public import Logging
public import PostgresNIO

/// Creates, lists, revokes and checks bearer tokens. Only the SHA-256 of a token is stored, so a
/// stolen database does not hand out access; the token itself is shown once.
public struct AccessTokens: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// The lifetime of a token when none is asked for, and the longest one may have.
    public static let defaultLifetime = Duration.seconds(90 * 86_400)
    public static let longestLifetime = Duration.seconds(365 * 86_400)

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknownUnit(String)
        case unknownToken(Int64)
        case lifetime(String)
        public var description: String {
            switch self {
            case .unknownUnit(let code): "unknown unit \(code)"
            case .unknownToken(let id): "no token with id \(id)"
            case .lifetime(let text): text
            }
        }
    }

    /// A token as `tokens list` shows it (never the token itself, which is not kept).
    public struct Listed: Sendable, Codable, Equatable {
        public var id: Int64
        public var name: String
        public var unit: String
        public var role: AccessRole
        public var createdAt: Date
        public var expiresAt: Date
        public var lastUsedAt: Date?
        public var revokedAt: Date?
    }

    /// A new token: `co_` and 43 characters of base64url (32 random bytes), and its id.
    public func create(
        unitCode: String, role: AccessRole, name: String, lifetime: Duration = AccessTokens.defaultLifetime
    ) async throws -> (id: Int64, token: String) {
        guard lifetime > .zero, lifetime <= Self.longestLifetime else {
            throw Failure.lifetime("a token lives at most 365 days")
        }
        let token = "co_" + Self.randomText()
        let rows = try await client.query("""
            INSERT INTO api_tokens (token_hash, name, unit_id, role, expires_at)
            SELECT \(Self.hash(token)), \(name), id, \(role.rawValue)::access_role, now() + \(lifetime.seconds) * interval '1 second'
            FROM units WHERE code = \(unitCode)
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return (id, token) }
        throw Failure.unknownUnit(unitCode)
    }

    /// Every token, newest first.
    public func list() async throws -> [Listed] {
        let rows = try await client.query("""
            SELECT t.id, t.name, u.code, t.role::text, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
            FROM api_tokens t JOIN units u ON u.id = t.unit_id ORDER BY t.id DESC
            """, logger: logger)
        var listed: [Listed] = []
        for try await (id, name, unit, role, created, expires, used, revoked) in rows.decode(
            (Int64, String, String, String, Date, Date, Date?, Date?).self)
        {
            listed.append(Listed(id: id, name: name, unit: unit, role: AccessRole(rawValue: role) ?? .viewer, createdAt: created,
                                 expiresAt: expires, lastUsedAt: used, revokedAt: revoked))
        }
        return listed
    }

    /// Revokes a token (and so every web session it opened).
    /// - Returns: false when it was revoked already.
    @discardableResult
    public func revoke(id: Int64) async throws -> Bool {
        let rows = try await client.query("""
            WITH target AS (SELECT id, revoked_at FROM api_tokens WHERE id = \(id) FOR UPDATE),
            revoked AS (UPDATE api_tokens SET revoked_at = now() FROM target
                        WHERE api_tokens.id = target.id AND target.revoked_at IS NULL RETURNING 1)
            SELECT (SELECT count(*) FROM target)::int8, (SELECT count(*) FROM revoked)::int8
            """, logger: logger)
        for try await (found, revoked) in rows.decode((Int64, Int64).self) {
            guard found > 0 else { throw Failure.unknownToken(id) }
            return revoked > 0
        }
        throw Failure.unknownToken(id)
    }

    /// The scope of a token, or nil for one that is unknown, revoked or expired.
    public func scope(of token: String) async throws -> AccessScope? {
        guard token.hasPrefix("co_"), token.count < 200 else { return nil }
        let rows = try await client.query("""
            SELECT \(unescaped: Self.scopeColumns) FROM api_tokens t JOIN units u ON u.id = t.unit_id
            WHERE t.token_hash = \(Self.hash(token)) AND t.revoked_at IS NULL AND t.expires_at > now()
            """, logger: logger)
        for try await row in rows { return try Self.scope(row) }
        return nil
    }

    /// Notes that a token was used; callers do it at most once a minute per token.
    public func markUsed(tokenID: Int64) async throws {
        try await client.query("""
            UPDATE api_tokens SET last_used_at = now()
            WHERE id = \(tokenID) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
            """, logger: logger)
    }

    /// What a scope is read from, over `api_tokens t JOIN units u`; named so that a query may
    /// select them again from a CTE by ``scopeNames``.
    static let scopeColumns = """
        t.id AS token_id, t.name AS token_name, t.unit_id AS unit_id, u.code AS unit_code, t.role::text AS role,
        u.parent_id IS NULL AS is_root, extract(epoch FROM t.expires_at)::float8 AS expires_epoch
        """
    static let scopeNames = "token_id, token_name, unit_id, unit_code, role, is_root, expires_epoch"

    static func scope(_ row: PostgresRow) throws -> AccessScope {
        let (id, name, unit, code, role, isRoot, expires) = try row.decode((Int64, String, Int64, String, String, Bool, Double).self)
        return AccessScope(tokenID: id, tokenName: name, unitID: unit, unitCode: code, role: AccessRole(rawValue: role) ?? .viewer,
                           isRoot: isRoot, expiresAt: expires)
    }

    /// 32 random bytes as base64url: tokens, sign-in codes and session ids.
    static func randomText() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `90d`, `12h` or `30m` as a duration.
    public static func parseLifetime(_ text: String) throws -> Duration {
        let units: [Character: Int64] = ["d": 86_400, "h": 3_600, "m": 60]
        guard let last = text.last, let unit = units[last], let count = Int64(text.dropLast()), count > 0, count <= 365 * 86_400 else {
            throw Failure.lifetime("'\(text.prefix(20))' is not a lifetime: use e.g. 90d, 12h or 30m")
        }
        let lifetime = Duration.seconds(count * unit)
        guard lifetime <= longestLifetime else { throw Failure.lifetime("a token lives at most 365 days") }
        return lifetime
    }
}

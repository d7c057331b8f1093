import Crypto
public import Foundation
public import Logging
public import PostgresNIO

/// What a bearer token may see: its unit and the units below it; staff tokens also manage jobs.
public struct AccessScope: Sendable, Equatable {
    public var tokenID: Int64
    public var unitID: Int64
    public var unitCode: String
    public var staff: Bool
}

/// Creates and checks bearer tokens. Only the SHA-256 of a token is stored, so a stolen
/// database does not hand out access; the token itself is shown once.
public struct AccessTokens: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public enum Failure: Error, CustomStringConvertible {
        case unknownUnit(String)
        public var description: String {
            switch self {
            case .unknownUnit(let code): "unknown unit \(code)"
            }
        }
    }

    /// A new token for `unitCode`: `co_` and 43 characters of base64url (32 random bytes).
    public func create(unitCode: String, staff: Bool, name: String) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let token = "co_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let rows = try await client.query("""
            INSERT INTO api_tokens (token_hash, name, unit_id, staff)
            SELECT \(Self.hash(token)), \(name), id, \(staff) FROM units WHERE code = \(unitCode)
            RETURNING id
            """, logger: logger)
        for try await _ in rows.decode(Int64.self) { return token }
        throw Failure.unknownUnit(unitCode)
    }

    /// The scope of a token, or nil for one that is unknown or revoked.
    public func scope(of token: String) async throws -> AccessScope? {
        guard token.hasPrefix("co_"), token.count < 200 else { return nil }
        let rows = try await client.query("""
            SELECT t.id, t.unit_id, u.code, t.staff FROM api_tokens t JOIN units u ON u.id = t.unit_id
            WHERE t.token_hash = \(Self.hash(token)) AND t.revoked_at IS NULL
            """, logger: logger)
        for try await (id, unit, code, staff) in rows.decode((Int64, Int64, String, Bool).self) {
            return AccessScope(tokenID: id, unitID: unit, unitCode: code, staff: staff)
        }
        return nil
    }

    /// The anti-forgery value forms of a session carry: derived from its token, so a page of
    /// another site, which cannot read the token, cannot make it.
    public static func csrfToken(for token: String) -> String {
        String(hash("csrf:" + token).prefix(32))
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

public import Foundation
import JobQueue
public import Logging
public import PostgresNIO

/// Browser sign-in: one-time links that start a session, and the sessions themselves. A cookie
/// holds a random session id, never a token, so a leaked cookie dies with its session (8 hours
/// idle, 7 days at most, or at /logout) and a leaked link dies at its first use or in 15 minutes.
public struct WebSessions: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public static let linkLifetime = Duration.seconds(15 * 60)
    public static let idleLimit = Duration.seconds(8 * 3600)
    public static let longestSession = Duration.seconds(7 * 86_400)

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// A new one-time sign-in code for a new token of `unitCode` with `role`; the token lives as
    /// long as the longest session it can open.
    public func createLink(unitCode: String, role: AccessRole, name: String) async throws -> (tokenID: Int64, code: String) {
        let (tokenID, _) = try await AccessTokens(client: client, logger: logger).create(
            unitCode: unitCode, role: role, name: name, lifetime: Self.linkLifetime + Self.longestSession)
        let code = AccessTokens.randomText()
        try await client.query("""
            INSERT INTO sign_in_links (code_hash, token_id, expires_at)
            VALUES (\(AccessTokens.hash(code)), \(tokenID), now() + \(Self.linkLifetime.seconds) * interval '1 second')
            """, logger: logger)
        return (tokenID, code)
    }

    /// What opening a sign-in link gave.
    public enum Redemption: Sendable, Equatable {
        /// A session started: the cookie's value, and who signed in.
        case signedIn(sessionID: String, scope: AccessScope)
        case alreadyUsed
        case expired
        case unknown
    }

    /// Uses a sign-in code once: the first call starts a session, any later one is refused.
    public func redeem(code: String) async throws -> Redemption {
        guard code.count <= 100 else { return .unknown }
        let sessionID = AccessTokens.randomText()
        let rows = try await client.query("""
            WITH link AS (
                SELECT l.code_hash, l.token_id, l.used_at, l.expires_at > now() AS live
                FROM sign_in_links l JOIN api_tokens t ON t.id = l.token_id
                WHERE l.code_hash = \(AccessTokens.hash(code)) AND t.revoked_at IS NULL AND t.expires_at > now()
                FOR UPDATE OF l
            ),
            used AS (
                UPDATE sign_in_links SET used_at = now() FROM link
                WHERE sign_in_links.code_hash = link.code_hash AND link.used_at IS NULL AND link.live
                RETURNING sign_in_links.token_id
            ),
            started AS (
                INSERT INTO web_sessions (id_hash, token_id, expires_at)
                SELECT \(AccessTokens.hash(sessionID)), token_id, now() + \(Self.longestSession.seconds) * interval '1 second' FROM used
                RETURNING token_id
            )
            SELECT (SELECT used_at IS NOT NULL FROM link), (SELECT live FROM link), (SELECT token_id FROM started)
            """, logger: logger)
        for try await (used, live, started) in rows.decode((Bool?, Bool?, Int64?).self) {
            if let started, let scope = try await scope(tokenID: started) { return .signedIn(sessionID: sessionID, scope: scope) }
            if used == true { return .alreadyUsed }
            if live == false { return .expired }
        }
        return .unknown
    }

    /// Starts a session for the token of `scope` (pasted into the sign-in form, or in a
    /// `?token=` link), which the caller has checked; returns the cookie's value.
    public func signIn(_ scope: AccessScope) async throws -> String {
        let sessionID = AccessTokens.randomText()
        try await client.query("""
            INSERT INTO web_sessions (id_hash, token_id, expires_at)
            VALUES (\(AccessTokens.hash(sessionID)), \(scope.tokenID), least(now() + \(Self.longestSession.seconds) * interval '1 second',
                    to_timestamp(\(scope.expiresAt))))
            """, logger: logger)
        return sessionID
    }

    /// The scope of a live session, noting its use at most once a minute; nil for one that
    /// ended, idled out, ran out, or whose token was revoked or expired.
    public func scope(sessionID: String) async throws -> AccessScope? {
        guard sessionID.count <= 100 else { return nil }
        let rows = try await client.query("""
            WITH live AS (
                SELECT s.id_hash, s.last_seen_at, \(unescaped: AccessTokens.scopeColumns)
                FROM web_sessions s JOIN api_tokens t ON t.id = s.token_id JOIN units u ON u.id = t.unit_id
                WHERE s.id_hash = \(AccessTokens.hash(sessionID)) AND s.ended_at IS NULL AND s.expires_at > now()
                  AND s.last_seen_at > now() - \(Self.idleLimit.seconds) * interval '1 second'
                  AND t.revoked_at IS NULL AND t.expires_at > now()
            ),
            touched AS (
                UPDATE web_sessions SET last_seen_at = now() FROM live
                WHERE web_sessions.id_hash = live.id_hash AND live.last_seen_at < now() - interval '1 minute'
            )
            SELECT \(unescaped: AccessTokens.scopeNames) FROM live
            """, logger: logger)
        for try await row in rows { return try AccessTokens.scope(row) }
        return nil
    }

    /// Ends a session (/logout).
    public func end(sessionID: String) async throws {
        try await client.query(
            "UPDATE web_sessions SET ended_at = now() WHERE id_hash = \(AccessTokens.hash(sessionID)) AND ended_at IS NULL",
            logger: logger)
    }

    private func scope(tokenID: Int64) async throws -> AccessScope? {
        let rows = try await client.query("""
            SELECT \(unescaped: AccessTokens.scopeColumns) FROM api_tokens t JOIN units u ON u.id = t.unit_id WHERE t.id = \(tokenID)
            """, logger: logger)
        for try await row in rows { return try AccessTokens.scope(row) }
        return nil
    }

    /// The anti-forgery value of a session's forms and cookie-authenticated requests: derived from
    /// the session id, which a page of another site cannot read.
    public static func csrfToken(forSession sessionID: String) -> String {
        String(AccessTokens.hash("csrf:" + sessionID).prefix(32))
    }
}

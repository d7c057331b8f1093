import CreditWorkers
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import Synchronization

/// Who made a request: a bearer token (`Authorization: Bearer co_…`) or a browser session (the
/// `creditops_session` cookie). Scopes are cached for at most ``cacheLifetime``, so a busy
/// dashboard does not look its token up on every request, while a revoked or expired token is
/// refused by every process within that time.
final class Authenticator: Sendable {
    static let sessionCookie = "creditops_session"
    static let cacheLifetime: Duration = .seconds(2)
    static let lastUsedInterval: Duration = .seconds(60)

    /// How a request proved who it is; a session's state changes must carry its CSRF value.
    struct Principal: Sendable {
        var scope: AccessScope
        /// Set for a cookie-authenticated request.
        var sessionID: String?

        var csrf: String? { sessionID.map(WebSessions.csrfToken(forSession:)) }
    }

    let tokens: AccessTokens
    let sessions: WebSessions
    let limiter: FailedAuthenticationLimiter
    /// Cookies get `Secure` when the server runs TLS or its public address is https.
    let secureCookies: Bool
    private let cache = Mutex<[String: (scope: AccessScope, until: ContinuousClock.Instant)]>([:])
    private let lastUsedWritten = Mutex<[Int64: ContinuousClock.Instant]>([:])

    init(client: PostgresClient, logger: Logger, secureCookies: Bool, limiter: FailedAuthenticationLimiter = .init()) {
        self.tokens = AccessTokens(client: client, logger: logger)
        self.sessions = WebSessions(client: client, logger: logger)
        self.secureCookies = secureCookies
        self.limiter = limiter
    }

    static func bearerToken(of request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return "" }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    /// The request's principal, or a 401 (429 for an address that failed too often).
    func principal(of request: Request, context: CreditOpsRequestContext) async throws -> Principal {
        if let principal = try await optionalPrincipal(of: request, context: context) { return principal }
        throw HTTPError(.unauthorized, message: "a bearer token is required (Authorization: Bearer …), or sign in at /login")
    }

    /// The principal, nil when the request carries no credentials or only the cookie of a session
    /// that ended (idle, signed out, its token revoked: the browser should sign in again; a random
    /// 256-bit id cannot be guessed, so it counts as no failure); a 401 for a wrong token.
    func optionalPrincipal(of request: Request, context: CreditOpsRequestContext) async throws -> Principal? {
        try refuseIfLimited(context)
        if let token = Self.bearerToken(of: request) {
            guard let scope = try await cached("t:" + token, { try await self.tokens.scope(of: token) }) else {
                throw failed(context, "the token is not valid (unknown, revoked or expired)")
            }
            return Principal(scope: scope, sessionID: nil)
        }
        guard let sessionID = request.cookies[Self.sessionCookie]?.value, !sessionID.isEmpty else { return nil }
        guard let scope = try await cached("s:" + sessionID, { try await self.sessions.scope(sessionID: sessionID) }) else { return nil }
        return Principal(scope: scope, sessionID: sessionID)
    }

    /// The scope of a token given outside a header (the sign-in form, `?token=`), counting failures.
    func scope(ofToken token: String, context: CreditOpsRequestContext) async throws -> AccessScope? {
        try refuseIfLimited(context)
        guard let scope = try await cached("t:" + token, { try await self.tokens.scope(of: token) }) else {
            limiter.recordFailure(context.address)
            return nil
        }
        return scope
    }

    func refuseIfLimited(_ context: CreditOpsRequestContext) throws {
        if let seconds = limiter.retryAfter(context.address) {
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: "\(seconds)"],
                            message: "too many failed sign-ins from this address: try again in \(seconds) s")
        }
    }

    private func failed(_ context: CreditOpsRequestContext, _ message: String) -> HTTPError {
        limiter.recordFailure(context.address)
        return HTTPError(.unauthorized, message: message)
    }

    private func cached(_ key: String, _ lookUp: @Sendable () async throws -> AccessScope?) async throws -> AccessScope? {
        let now = ContinuousClock.now
        if let entry = cache.withLock({ $0[key] }), entry.until > now { return entry.scope }
        guard let scope = try await lookUp() else {
            cache.withLock { _ = $0.removeValue(forKey: key) }
            return nil
        }
        // Never past the token's own expiry.
        let untilExpiry = Duration.seconds(max(0, scope.expiresAt - Date().timeIntervalSince1970))
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[key] = (scope, now + min(Self.cacheLifetime, untilExpiry))
        }
        try await noteUse(scope.tokenID)
        return scope
    }

    /// `last_used_at`, written at most once a minute per token by this process.
    private func noteUse(_ tokenID: Int64) async throws {
        let now = ContinuousClock.now
        let due = lastUsedWritten.withLock { written -> Bool in
            if let last = written[tokenID], now - last < Self.lastUsedInterval { return false }
            if written.count > 10_000 { written.removeAll() }
            written[tokenID] = now
            return true
        }
        if due { try await tokens.markUsed(tokenID: tokenID) }
    }

    /// Forgets cached scopes, so that a sign-out takes effect at once in this process.
    func forget(sessionID: String) {
        cache.withLock { _ = $0.removeValue(forKey: "s:" + sessionID) }
    }

    /// The session cookie: never readable by scripts, sent on navigation from other sites (a link
    /// in webmail or Zalo) but not on their POSTs, and `Secure` wherever the server is https.
    func sessionCookie(_ sessionID: String) -> Cookie {
        Cookie(name: Self.sessionCookie, value: sessionID, maxAge: Int(WebSessions.longestSession.components.seconds), path: "/",
               secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    func expiredSessionCookie() -> Cookie {
        Cookie(name: Self.sessionCookie, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }
}

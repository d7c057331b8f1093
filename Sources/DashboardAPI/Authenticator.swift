import CreditWorkers
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Synchronization

/// Finds the scope of a request's token: `Authorization: Bearer …`, or the HttpOnly cookie the
/// dashboard sets. Scopes are cached for 30 seconds, so a busy dashboard does not hash and look
/// up its token on every request (a revoked token stops working within that time).
final class Authenticator: Sendable {
    static let cookieName = "creditops_token"
    static let cacheLifetime: Duration = .seconds(30)

    private let tokens: AccessTokens
    private let cache = Mutex<[String: (scope: AccessScope, until: ContinuousClock.Instant)]>([:])

    init(tokens: AccessTokens) {
        self.tokens = tokens
    }

    /// The request's token, from the header first, then the cookie.
    static func token(of request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        return request.cookies[cookieName]?.value
    }

    /// The scope, or a 401.
    func scope(of request: Request) async throws -> AccessScope {
        guard let token = Self.token(of: request), !token.isEmpty else {
            throw HTTPError(.unauthorized, message: "a bearer token is required (Authorization: Bearer …)")
        }
        guard let scope = try await scope(of: token) else {
            throw HTTPError(.unauthorized, message: "the token is not valid")
        }
        return scope
    }

    func scope(of token: String) async throws -> AccessScope? {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[token] }), cached.until > now { return cached.scope }
        guard let scope = try await tokens.scope(of: token) else { return nil }
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[token] = (scope, now + Self.cacheLifetime)
        }
        return scope
    }

    /// A 403 unless the scope is a staff token's.
    static func requireStaff(_ scope: AccessScope) throws {
        guard scope.staff else { throw HTTPError(.forbidden, message: "this needs a staff token") }
    }
}

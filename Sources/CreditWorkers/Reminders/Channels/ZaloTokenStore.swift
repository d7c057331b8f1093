import CreditDomain
public import Foundation
public import Logging
public import PostgresNIO

/// The OA's tokens and daily quota, in the database so that every worker uses the newest pair:
/// Zalo's refresh token is good for one use, so two workers refreshing with the same one would
/// leave one of them (and, after a restart, everyone) with a dead token. A refresh holds the
/// row's lock, and a worker that waited for it uses the token the other one got.
public struct ZaloTokenStore: Sendable {
    public let configuration: ZaloConfiguration
    public let client: PostgresClient
    public let logger: Logger

    /// Refreshed this long before Zalo's expiry, so that no request carries a token about to die.
    static let margin = 600.0

    public struct RefreshFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// A valid access token: the stored one, or a fresh one when it is missing, about to expire,
    /// or `replacing` (a token Zalo just refused).
    public func accessToken(replacing stale: String? = nil) async throws -> String {
        try await client.query("""
            INSERT INTO zalo_tokens (refresh_token) VALUES (\(configuration.initialRefreshToken)) ON CONFLICT (singleton) DO NOTHING
            """, logger: logger)
        if let current = try await current(on: nil), current.isFresh, current.access != stale, let access = current.access {
            return access
        }
        return try await client.withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                guard let locked = try await current(on: connection, forUpdate: true) else {
                    throw RefreshFailed(description: "the zalo_tokens row is missing")
                }
                if locked.isFresh, locked.access != stale, let access = locked.access {
                    try await connection.query("COMMIT", logger: logger)
                    return access
                }
                let fresh = try await refresh(with: locked.refresh)
                try await connection.query("""
                    UPDATE zalo_tokens SET access_token = \(fresh.access), refresh_token = \(fresh.refresh),
                           access_expires_at = now() + make_interval(secs => \(fresh.expiresIn)), refreshed_at = now()
                    """, logger: logger)
                try await connection.query("COMMIT", logger: logger)
                logger.info("Refreshed the Zalo OA access token", metadata: ["expires_in_seconds": "\(fresh.expiresIn)"])
                return fresh.access
            } catch {
                try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    struct Stored {
        var access: String?
        var refresh: String
        var isFresh: Bool
    }

    private func current(on connection: PostgresConnection?, forUpdate: Bool = false) async throws -> Stored? {
        let sql = """
            SELECT access_token, refresh_token, coalesce(access_expires_at > now() + make_interval(secs => \(Self.margin)), false)
            FROM zalo_tokens\(forUpdate ? " FOR UPDATE" : "")
            """
        let rows = if let connection {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } else {
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
        for try await (access, refresh, fresh) in rows.decode((String?, String, Bool).self) {
            return Stored(access: access, refresh: refresh, isFresh: fresh)
        }
        return nil
    }

    struct Fresh {
        var access: String
        var refresh: String
        var expiresIn: Double
    }

    struct RefreshReply: Decodable {
        var access_token: String?
        var refresh_token: String?
        var expires_in: LenientInt?
        var error: Int?
        var error_name: String?
        var error_description: String?
    }

    /// POST {oauth}/v4/oa/access_token with the app's secret key: a new access token and a new
    /// refresh token (the old one is spent).
    private func refresh(with refreshToken: String) async throws -> Fresh {
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "refresh_token", value: refreshToken), URLQueryItem(name: "app_id", value: configuration.appID),
            URLQueryItem(name: "grant_type", value: "refresh_token"),
        ]
        let body = Data((form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B").utf8)
        let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("secret_key", configuration.appSecret)]
        switch await GatewayHTTP.post(configuration.oauthURL + "/v4/oa/access_token", headers: headers, body: body,
                                      timeout: configuration.timeout) {
        case .failure(let error):
            throw RefreshFailed(description: "Zalo's token server: \(error.description)")
        case .success(let answer):
            guard (200..<300).contains(answer.status),
                let reply = try? JSONDecoder().decode(RefreshReply.self, from: Data(answer.body.utf8))
            else {
                throw RefreshFailed(description: "Zalo's token server answered HTTP \(answer.status): \(answer.body.prefix(300))")
            }
            guard let access = reply.access_token, let refresh = reply.refresh_token, !access.isEmpty, !refresh.isEmpty else {
                throw RefreshFailed(description: "Zalo refused the refresh token (error \(reply.error ?? 0) \(reply.error_name ?? ""): "
                    + "\(reply.error_description ?? "")); set a new one in CREDITOPS_ZALO_REFRESH_TOKEN and clear zalo_tokens")
            }
            return Fresh(access: access, refresh: refresh, expiresIn: Double(reply.expires_in?.value ?? 90_000))
        }
    }

    /// Whether Zalo last said today's quota is used up.
    func quotaUsedUp(today: CalendarDate) async throws -> Bool {
        for try await remaining in try await client.query(
            "SELECT remaining FROM zalo_quota WHERE day = \(today.iso)::date", logger: logger
        ).decode(Int.self) {
            return remaining <= 0
        }
        return false
    }

    func recordQuota(today: CalendarDate, daily: Int?, remaining: Int) async throws {
        try await client.query("""
            INSERT INTO zalo_quota (day, daily, remaining) VALUES (\(today.iso)::date, \(daily), \(remaining))
            ON CONFLICT (day) DO UPDATE SET daily = coalesce(excluded.daily, zalo_quota.daily), remaining = excluded.remaining, updated_at = now()
            """, logger: logger)
    }
}

public import Foundation
public import Logging
public import PostgresNIO

/// The trail of every write made through HTTP or the CLI: who (token, or the CLI's operating
/// system user), from where, what, on what, and how it ended.
public struct AuditLog: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Who acted.
    public struct Actor: Sendable, Equatable {
        public var tokenID: Int64?
        public var name: String
        public var role: String
        public var address: String

        public init(tokenID: Int64?, name: String, role: String, address: String) {
            self.tokenID = tokenID
            self.name = name
            self.role = role
            self.address = address
        }

        /// A request made with a token.
        public init(_ scope: AccessScope, address: String) {
            self.init(tokenID: scope.tokenID, name: scope.tokenName, role: scope.role.rawValue, address: address)
        }

        /// The command line: whoever runs it has the database's password, so the operating system
        /// user is the best name there is.
        public static var commandLine: Actor {
            let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
            return Actor(tokenID: nil, name: "cli:\(user)", role: "cli", address: ProcessInfo.processInfo.hostName)
        }
    }

    /// One row of the trail.
    public struct Event: Sendable, Codable, Equatable {
        public var id: Int64
        public var at: Date
        public var tokenID: Int64?
        public var tokenName: String
        public var role: String
        public var address: String
        public var action: String
        public var target: String
        public var outcome: String
    }

    /// Adds a row. A trail that cannot be written is logged, never silently skipped.
    public func record(_ actor: Actor, action: String, target: String, outcome: String) async {
        do {
            try await client.query("""
                INSERT INTO audit_events (token_id, token_name, role, address, action, target, outcome)
                VALUES (\(actor.tokenID), \(String(actor.name.prefix(200))), \(actor.role), \(String(actor.address.prefix(100))),
                        \(action), \(String(target.prefix(500))), \(String(outcome.prefix(500))))
                """, logger: logger)
        } catch {
            logger.error("Audit row not written", metadata: ["action": "\(action)", "target": "\(target)", "error": "\(String(reflecting: error))"])
        }
    }

    /// Runs a write and records it: "ok", or "refused" and what `reason` makes of the error the
    /// caller then gets.
    public func recording<T: Sendable>(
        _ actor: Actor, action: String, target: String,
        reason: (any Error) -> String = { ": \($0)" }, _ body: () async throws -> T
    ) async throws -> T {
        do {
            let result = try await body()
            await record(actor, action: action, target: target, outcome: "ok")
            return result
        } catch {
            await record(actor, action: action, target: target, outcome: "refused" + reason(error))
            throw error
        }
    }

    /// The newest rows first, since a moment if given.
    public func list(since: Date? = nil, limit: Int = 200) async throws -> [Event] {
        let rows = try await client.query("""
            SELECT id, at, token_id, token_name, role, address, action, target, outcome FROM audit_events
            WHERE \(since)::timestamptz IS NULL OR at >= \(since)
            ORDER BY id DESC LIMIT \(min(max(limit, 1), 10_000))
            """, logger: logger)
        var events: [Event] = []
        for try await (id, at, tokenID, name, role, address, action, target, outcome) in rows.decode(
            (Int64, Date, Int64?, String, String, String, String, String, String).self)
        {
            events.append(Event(id: id, at: at, tokenID: tokenID, tokenName: name, role: role, address: address, action: action,
                                target: target, outcome: outcome))
        }
        return events
    }
}

public import CreditDomain
public import Foundation
public import Logging
public import PostgresNIO

/// People who asked to get no more reminders. The planner records what it would have sent them
/// as `opted_out`; opting out also withholds what is already planned and not yet sent.
public struct RecipientOptOuts: Sendable {
    public struct Entry: Sendable, Codable, Equatable {
        public var phone: String
        public var optedOutAt: Date
        public var note: String
    }

    public struct Change: Sendable, Codable, Equatable {
        public var phone: String
        /// False when the number was already in the state asked for.
        public var changed: Bool
        /// Planned reminders to the number that will not be sent (opt-out only).
        public var withheld: Int
    }

    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func optOut(_ phone: VietnamesePhone, note: String = "") async throws -> Change {
        try await client.inTransaction(logger: logger) { connection in
            var changed = false
            for try await _ in try await connection.query("""
                INSERT INTO recipient_opt_outs (phone, note) VALUES (\(phone.e164), \(note)) ON CONFLICT (phone) DO NOTHING RETURNING 1
                """, logger: logger) { changed = true }
            var withheld = 0
            for try await count in try await connection.query("""
                WITH withheld AS (
                    UPDATE notifications SET state = 'opted_out', last_error = 'the recipient opted out'
                    WHERE recipient_phone = \(phone.e164) AND state = 'pending' RETURNING 1)
                SELECT count(*)::int8 FROM withheld
                """, logger: logger).decode(Int64.self) { withheld = Int(count) }
            return Change(phone: phone.e164, changed: changed, withheld: withheld)
        }
    }

    public func optIn(_ phone: VietnamesePhone) async throws -> Change {
        var changed = false
        for try await _ in try await client.query("DELETE FROM recipient_opt_outs WHERE phone = \(phone.e164) RETURNING 1", logger: logger) {
            changed = true
        }
        return Change(phone: phone.e164, changed: changed, withheld: 0)
    }

    public func list() async throws -> [Entry] {
        var entries: [Entry] = []
        let rows = try await client.query(
            "SELECT phone, opted_out_at, note FROM recipient_opt_outs ORDER BY opted_out_at DESC, phone", logger: logger)
        for try await (phone, at, note) in rows.decode((String, Date, String).self) {
            entries.append(Entry(phone: phone, optedOutAt: at, note: note))
        }
        return entries
    }
}

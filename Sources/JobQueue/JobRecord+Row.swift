import Foundation
import PostgresNIO

extension JobRecord {
    static let columns = """
        id, queue, kind, args::text, priority::int8, state::text, attempt::int8, max_attempts::int8, run_at, attempted_at,
        attempted_by, lease_expires_at, errors::text, unique_key, created_at, finalized_at, meta::text, tags, depends_on
        """

    init(row: PostgresRow) throws {
        let (id, queue, kind, args, priority, state, attempt, maxAttempts, runAt, attemptedAt) = try row.decode(
            (Int64, String, String, String, Int64, String, Int64, Int64, Date, Date?).self)
        let cells = row.makeRandomAccess()
        let attemptedBy = try cells[10].decode(String?.self)
        let leaseExpiresAt = try cells[11].decode(Date?.self)
        let errorsJSON = try cells[12].decode(String.self)
        let uniqueKey = try cells[13].decode(String?.self)
        let createdAt = try cells[14].decode(Date.self)
        let finalizedAt = try cells[15].decode(Date?.self)
        let metaObject = (try? JSONSerialization.jsonObject(with: Data(try cells[16].decode(String.self).utf8))) as? [String: Any]
        let tags = try cells[17].decode([String].self)
        let dependsOn = try cells[18].decode([Int64].self)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = PostgresTimestamp.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad time \(text)"))
            }
            return date
        }
        self.init(
            id: id, queue: queue, kind: kind, args: args, priority: Int(priority), state: JobState(rawValue: state) ?? .available,
            attempt: Int(attempt), maxAttempts: Int(maxAttempts), runAt: runAt, attemptedAt: attemptedAt,
            attemptedBy: attemptedBy, leaseExpiresAt: leaseExpiresAt,
            errors: (try? decoder.decode([AttemptError].self, from: Data(errorsJSON.utf8))) ?? [],
            uniqueKey: uniqueKey, createdAt: createdAt, finalizedAt: finalizedAt,
            meta: (metaObject ?? [:]).compactMapValues { $0 as? String }, tags: tags, dependsOn: dependsOn)
    }
}

/// Timestamps inside jsonb are written as `SQLTime.nowJSON` makes them: `2026-11-27T05:10:11.123Z`.
enum PostgresTimestamp {
    static func parse(_ text: String) -> Date? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        if let date = try? withFraction.parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}

import Foundation
public import JobQueue

/// A step of `schema.sql`.
public typealias SchemaStep = MigrationStep

/// The steps of `schema.sql`, embedded in the binary at build time so that `migrate` needs no
/// source tree. The queue's tables have their own history in JobQueue (`jobqueue.sql`).
public enum Schema {
    /// Every step of the embedded `schema.sql`, in order.
    public static let steps: [SchemaStep] = {
        do {
            return try parse(String(decoding: PackageResources.schema_sql, as: UTF8.self))
        } catch {
            preconditionFailure("the embedded schema.sql is malformed: \(error)")
        }
    }()

    /// The version a fully migrated database has.
    public static var latestVersion: Int { steps.last?.version ?? 0 }

    /// Splits a schema file at its `-- migrate:step N description` lines.
    public static func parse(_ text: String) throws -> [SchemaStep] {
        try MigrationStep.parse(text, source: "schema.sql")
    }

    /// The history of `schema.sql` steps, recorded in `schema_migrations`.
    static func history(_ steps: [SchemaStep]) -> SchemaHistory {
        SchemaHistory(table: "schema_migrations", steps: steps, lockKey: 0x4352_4544_4f50_5331, source: "schema.sql", program: "creditops")
    }
}

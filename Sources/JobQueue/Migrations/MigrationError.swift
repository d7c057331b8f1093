/// Why a migration could not bring the database to the current schema.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    /// One line for people.
    public let description: String

    /// Creates an error with its one line.
    public init(_ description: String) {
        self.description = description
    }
}

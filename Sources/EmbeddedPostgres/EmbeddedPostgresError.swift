/// Why an ``EmbeddedPostgres`` could not start or stop. Its `description` is one line meant for
/// the person at the terminal, naming the fix where there is one.
public struct EmbeddedPostgresError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case binariesNotFound, initFailed, startFailed, stopFailed, noFreePort
    }

    private let code: Code
    /// What went wrong, in one line.
    public let description: String

    static let binariesNotFound = EmbeddedPostgresError(
        code: .binariesNotFound,
        description:
            "PostgreSQL server programs (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: install them with `apt-get install postgresql`"
    )
    static func initFailed(_ message: String) -> Self { .init(code: .initFailed, description: message) }
    static func startFailed(_ message: String) -> Self { .init(code: .startFailed, description: message) }
    static func stopFailed(_ message: String) -> Self { .init(code: .stopFailed, description: message) }
    static func noFreePort(_ message: String) -> Self { .init(code: .noFreePort, description: message) }

    /// True when the server programs are missing, which installing PostgreSQL fixes.
    public var isMissingBinaries: Bool { code == .binariesNotFound }
}

import Foundation

/// The PostgreSQL server programs an ``EmbeddedPostgres`` runs.
public struct PostgresBinaries: Sendable, Hashable {
    /// Path of `initdb`.
    public var initdb: String
    /// Path of `pg_ctl`.
    public var pgCtl: String
    /// Path of `pg_basebackup`, beside the others (for a standby's first copy).
    public var pgBasebackup: String {
        URL(fileURLWithPath: pgCtl).deletingLastPathComponent().appendingPathComponent("pg_basebackup").path
    }

    /// Debian's `/usr/lib/postgresql/*/bin` folders, newest major version first.
    public static func debianSearchPaths() -> [String] {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions
            .sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
            .map { "\(root)/\($0)/bin" }
    }

    /// Finds a folder holding `initdb`, `pg_ctl` and `postgres` together, on `PATH` first, then in
    /// `extraSearchPaths`. Links are followed so that a `pg_ctl` linked into /usr/local/bin finds
    /// its `postgres` beside the real file.
    public static func locate(
        path: String? = nil, extraSearchPaths: [String]
    ) throws -> PostgresBinaries {
        let path = path ?? ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + extraSearchPaths
        for folder in folders where !folder.isEmpty {
            let candidate = URL(fileURLWithPath: folder).appendingPathComponent("pg_ctl")
            guard FileManager.default.isExecutableFile(atPath: candidate.path) else { continue }
            let realFolder = candidate.resolvingSymlinksInPath().deletingLastPathComponent()
            let programs = ["initdb", "pg_ctl", "postgres"].map { realFolder.appendingPathComponent($0).path }
            if programs.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) {
                return PostgresBinaries(initdb: programs[0], pgCtl: programs[1])
            }
        }
        throw EmbeddedPostgresError.binariesNotFound
    }
}

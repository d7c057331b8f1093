import Foundation

/// A real PgBouncer (Debian's `pgbouncer`) in front of the test cluster, started by a test: trust
/// authentication as the cluster has, `pool_mode` as asked.
///
/// It runs as a daemon (`-d`), stopped through its pid file: a `Process` child is reaped by
/// whoever calls `waitpid(-1)` in the test process, after which `waitUntilExit()` never returns.
public final class PgBouncer: Sendable {
    public let port: Int
    private let folder: String

    private init(port: Int, folder: String) {
        self.port = port
        self.folder = folder
    }

    /// Starts PgBouncer on a free port in front of 127.0.0.1:`postgresPort`; waits until it accepts connections.
    public static func start(to postgresPort: Int, poolMode: String = "transaction") async throws -> PgBouncer {
        guard let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw PgBouncerFailure(description: "pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-pgbouncer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let port = try freePort()
        let configuration = """
            [databases]
            * = host=127.0.0.1 port=\(postgresPort)
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(folder)/users.txt
            pool_mode = \(poolMode)
            max_client_conn = 500
            default_pool_size = 20
            logfile = \(folder)/pgbouncer.log
            pidfile = \(folder)/pgbouncer.pid

            """
        try configuration.write(toFile: folder + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        try "\"postgres\" \"\"\n".write(toFile: folder + "/users.txt", atomically: true, encoding: .utf8)
        for file in ["pgbouncer.ini", "users.txt"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder + "/" + file)
        }
        let process = Process()
        // PgBouncer refuses to run as root: as the cluster's own user, then.
        if getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", binary, "-d", folder + "/pgbouncer.ini"]
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["-d", folder + "/pgbouncer.ini"]
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let bouncer = PgBouncer(port: port, folder: folder)
        let listening = try await eventually(timeout: .seconds(20)) { Self.accepts(port: port) }
        guard listening else {
            let log = (try? String(contentsOfFile: folder + "/pgbouncer.log", encoding: .utf8)) ?? ""
            await bouncer.stop()
            throw PgBouncerFailure(description: "pgbouncer did not start: \(log.suffix(1000))")
        }
        return bouncer
    }

    /// Stops it, waits up to 10 s for it to go, and removes its files.
    /// Async, so that the wait never blocks a thread of the cooperative pool (2 on this machine).
    public func stop() async {
        if let text = try? String(contentsOfFile: folder + "/pgbouncer.pid", encoding: .utf8),
           let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            // SIGKILL: started from the test process, it inherits a signal mask in which SIGTERM does
            // nothing (seen: sent, delivered, ignored).
            kill(pid, SIGKILL)
            _ = try? await eventually(timeout: .seconds(10)) { Self.isGone(pid) }
        }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Gone, or a zombie: the daemon's parent is whatever reaps orphans, which in a container may
    /// be nobody.
    private static func isGone(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return true
        }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    private static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

struct PgBouncerFailure: Error, CustomStringConvertible {
    var description: String
}

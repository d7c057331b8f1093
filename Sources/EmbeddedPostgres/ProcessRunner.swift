import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs PostgreSQL's programs, as the unprivileged server user when this process is root.
struct ProcessRunner: Sendable {
    struct Result: Sendable {
        var status: Int32
        var output: String
    }

    /// The user to run as via `runuser`, or nil to run as ourselves.
    let serverUser: String?

    /// Runs `program` and waits for it, at most `timeout` (then it is killed).
    ///
    /// Spawned with `posix_spawn` rather than Foundation's `Process`: `Process` watches a socket
    /// that the child inherits, and the server `pg_ctl` leaves running inherits it too, so the
    /// exit of `pg_ctl` would go unnoticed for as long as the server runs.
    func run(_ program: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> Result {
        let argv = serverUser.map { ["/usr/sbin/runuser", "-u", $0, "--", program] + arguments } ?? [program] + arguments
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("creditops-pg-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out").path
        defer { unlink(outputPath) }
        let pid = try Self.spawn(argv, outputPath: outputPath)

        let status: Int32? = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                // waitpid blocks its thread; keep it off the cooperative pool.
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().async {
                        var status: Int32 = 0
                        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                        continuation.resume(returning: status)
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil {
                kill(pid, SIGKILL)  // the waiter then reaps it and the group ends
            }
            group.cancelAll()
            return first
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard let status else {
            throw EmbeddedPostgresError.startFailed("\(program) did not finish within \(timeout): \(output.lastLines(3))")
        }
        // The exit code, or 128 + the signal that ended it, as a shell reports it.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitCode, output: output)
    }

    private static func spawn(_ argv: [String], outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard result == 0 else {
            throw EmbeddedPostgresError.startFailed("cannot run \(argv[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    static func chown(path: String, user: String) throws {
        guard let entry = getpwnam(user) else {
            throw EmbeddedPostgresError.initFailed(
                "running as root, the cluster must belong to the user '\(user)', which does not exist: install PostgreSQL (`apt-get install postgresql`) or create the user"
            )
        }
        guard Glibc.chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw EmbeddedPostgresError.initFailed("cannot give \(path) to \(user): \(String(cString: strerror(errno)))")
        }
    }
}

/// Asks the kernel for a free TCP port on 127.0.0.1. Another process could take it before the
/// server binds it; the server then fails to start and says so, and a retry picks another.
enum FreePort {
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EmbeddedPostgresError.noFreePort("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw EmbeddedPostgresError.noFreePort("bind to 127.0.0.1:0 failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

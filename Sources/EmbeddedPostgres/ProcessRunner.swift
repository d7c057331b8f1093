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

    /// Runs `program` and waits for it, at most `timeout` (then it is killed). Uses the
    /// termination handler rather than `waitUntilExit`, which can miss the exit of a child whose
    /// own child (the server) lives on.
    func run(_ program: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> Result {
        let process = Process()
        if let serverUser {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", serverUser, "--", program] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        }
        // The server that pg_ctl starts inherits our descriptors: give it a file, not a pipe, or a
        // reader of that pipe would wait for the server to exit.
        let outputFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("creditops-pg-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil) else {
            throw EmbeddedPostgresError.startFailed("cannot create \(outputFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let handle = try FileHandle(forWritingTo: outputFile)
        defer { try? handle.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle

        let status: Int32? = try await withThrowingTaskGroup(of: Int32?.self) { group in
            let exited = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
            process.terminationHandler = { finished in
                exited.continuation.yield(finished.terminationStatus)
                exited.continuation.finish()
            }
            try process.run()
            group.addTask {
                for await status in exited.stream { return status }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            let first = try await group.next() ?? nil
            if first == nil, process.isRunning { process.terminate() }
            return first
        }
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard let status else {
            throw EmbeddedPostgresError.startFailed("\(program) did not finish within \(timeout): \(output.lastLines(3))")
        }
        return Result(status: status, output: output)
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

public import Foundation

/// The real `creditops` binary, built beside the test bundle, run as a child process.
public struct CreditOpsProcess: Sendable {
    /// The binary's path.
    public static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("creditops")
    }

    /// What a finished run printed.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `creditops arguments…` to completion (killed after `timeout`).
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> Output {
        let process = try start(arguments, environment: environment)
        let finished = await process.wait(timeout: timeout)
        if !finished { process.kill(signal: SIGKILL) }
        let exited = await process.wait(timeout: .seconds(60))
        defer { process.removeOutput() }
        // Foundation traps on the status of a process it has not reaped yet (a loaded machine
        // crashed the whole test run that way): -1 says it did not end in time.
        let status = exited ? process.process.terminationStatus : -1
        return Output(status: status, stdout: process.stdout(), stderr: process.stderr())
    }

    /// Starts `creditops arguments…` with its output going to temporary files.
    public static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        try start(executable: binary.path, arguments, environment: environment)
    }

    /// Starts another program the same way (output to files, no DATABASE_URL inherited).
    public static func start(executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["DATABASE_URL"] = nil
        merged.merge(environment) { $1 }
        process.environment = merged
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("creditops-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let running = Running(process: process, stdoutURL: out, stderrURL: err)
        try process.run()
        return running
    }

    /// A started child process.
    public final class Running: @unchecked Sendable {
        // @unchecked: Process is thread-safe for the calls made here (pid, isRunning, status).
        public let process: Process
        let stdoutURL: URL
        let stderrURL: URL

        init(process: Process, stdoutURL: URL, stderrURL: URL) {
            self.process = process
            self.stdoutURL = stdoutURL
            self.stderrURL = stderrURL
        }

        public var pid: Int32 { process.processIdentifier }

        public func kill(signal: Int32) {
            _ = Foundation.kill(process.processIdentifier, signal)
        }

        /// Waits for the exit, at most `timeout`; returns whether it exited.
        public func wait(timeout: Duration) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            return !process.isRunning
        }

        /// Deletes the captured output files, unless `CREDITOPS_TEST_KEEP_OUTPUT` is set (to read a
        /// worker's log after a test that passed, say).
        public func removeOutput() {
            guard ProcessInfo.processInfo.environment["CREDITOPS_TEST_KEEP_OUTPUT"] == nil else { return }
            try? FileManager.default.removeItem(at: stdoutURL.deletingLastPathComponent())
        }

        public func stdout() -> String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
        public func stderr() -> String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    }
}

/// Waits until `condition` holds, checking every 20 ms, at most `timeout`.
/// - Returns: whether it held in time.
public func eventually(
    timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

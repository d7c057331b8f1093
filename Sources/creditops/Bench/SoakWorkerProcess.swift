import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A worker process of the soak: this same executable, run as `bench soak-worker`, so that the
/// workers are separate processes as in a deployment, each with its own memory to watch.
// Unchecked: after start the Process is only read (pid, isRunning, terminationStatus), which
// Foundation synchronises itself.
final class SoakWorkerProcess: @unchecked Sendable {
    let process: Process
    let log: String

    private init(process: Process, log: String) {
        self.process = process
        self.log = log
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var exitCode: Int32 { process.isRunning ? 0 : process.terminationStatus }

    static func start(arguments: [String], databaseURL: String, log: String) throws -> SoakWorkerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        process.environment = environment
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return SoakWorkerProcess(process: process, log: log)
    }

    /// VmRSS from /proc: what the kernel holds in memory for the process now.
    func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return kilobytes / 1024
    }

    /// SIGTERM (a graceful drain), then SIGKILL for any still running after 40 s.
    static func stop(_ workers: [SoakWorkerProcess]) {
        for worker in workers where worker.isRunning { kill(worker.pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(40)
        while workers.contains(where: \.isRunning), Date() < deadline { usleep(100_000) }
        for worker in workers where worker.isRunning { kill(worker.pid, SIGKILL) }
    }
}

import Foundation
import TestSupport
import Testing

/// `Examples/HelloQueue`, the package that uses JobQueue alone, run as its readers would run it:
/// on an empty database, which it migrates itself.
@Suite struct ExampleTests {
    @Test func helloQueueRunsItsWorkflowOnAnEmptyDatabase() async throws {
        try await TestDatabase.withDatabase(migrated: false) { _, database in
            let binary = CreditOpsProcess.binary.deletingLastPathComponent().appendingPathComponent("HelloQueue").path
            let process = try CreditOpsProcess.start(executable: binary, [], environment: ["DATABASE_URL": database.url])
            defer { process.removeOutput() }
            let finished = await process.wait(timeout: .seconds(90))
            if !finished { process.kill(signal: SIGKILL) }
            #expect(finished)
            guard finished else { return }
            #expect(process.process.terminationStatus == 0, "\(process.stderr())")
            let steps = process.stdout().trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: " → ")
            #expect(Set(steps.prefix(2)) == ["fetch https://example.org/a", "fetch https://example.org/b"])
            #expect(Array(steps.dropFirst(2)) == ["index", "publish"])
        }
    }
}

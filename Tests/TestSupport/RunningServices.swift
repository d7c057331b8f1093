public import Logging
public import ServiceLifecycle

/// Runs `services` in a `ServiceGroup` (no signal handling) while `body` runs, then shuts them
/// down gracefully and waits for them to end, as `testJobQueue` does in swift-jobs.
public func withRunningServices<T: Sendable>(
    _ services: [any Service], logger: Logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
    _ body: @Sendable () async throws -> T
) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// A logger that drops everything, for tests.
public let silentLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

import Foundation

/// Bounds how many tests use a database at once. Swift Testing starts every test of the run
/// together; on a 2-core machine 230 of them at once made each query wait a second or more, and
/// a test's 30-second wait for a few retries ran out (CI, stop 30). Tests beyond the bound wait
/// for a slot before their database is made, so that their own timings start only when they run.
///
/// A test's `.timeLimit` counts its wait for a slot too (in a run of the whole suite, over two
/// minutes): bound the part of a test that could hang with ``withinTimeLimit(_:_:_:)`` instead.
///
/// `TEST_DATABASE_SLOTS` sets the bound (default: 6 a core, at least 12).
actor TestSlots {
    static let shared = TestSlots(
        count: ProcessInfo.processInfo.environment["TEST_DATABASE_SLOTS"].flatMap(Int.init)
            ?? max(12, ProcessInfo.processInfo.activeProcessorCount * 6))

    /// Set inside a slot, so that a test which opens a second database within its first does not
    /// wait for a slot it can never get.
    @TaskLocal private static var isHolding = false

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private init(count: Int) {
        free = max(1, count)
    }

    nonisolated func holding<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if Self.isHolding { return try await body() }
        await acquire()
        do {
            let result = try await Self.$isHolding.withValue(true) { try await body() }
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        guard free == 0 else {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            // The slot passes straight to the longest waiter, so none waits forever.
            waiting.removeFirst().resume()
        }
    }
}

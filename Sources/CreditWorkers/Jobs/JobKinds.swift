public import JobQueue

/// Every job kind CreditOps runs, registered in one place so that workers, the CLI's `enqueue`
/// and the operations page agree on what exists.
public enum JobKinds {
    /// A registry with every kind: the built-in `noop` and the diagnostic `sleep`.
    public static func registry() -> JobRegistry {
        let registry = JobRegistry()
        registry.register(sleep)
        return registry
    }

    /// Arguments of ``sleep``.
    public struct SleepArguments: Codable, Sendable {
        /// How long to sleep, in milliseconds (0...3,600,000).
        public var milliseconds: Int

        public init(milliseconds: Int) {
            self.milliseconds = milliseconds
        }
    }

    /// `sleep`: waits, then succeeds. For operators checking that workers run, drain and survive
    /// restarts, and for the fault tests. Honours cancellation.
    public static let sleep = JobDefinition<SleepArguments>(kind: "sleep", maxAttempts: 5) { args, _ in
        guard (0...3_600_000).contains(args.milliseconds) else {
            throw JobFailure.discard("milliseconds must be within 0...3600000")
        }
        try await Task.sleep(for: .milliseconds(args.milliseconds))
    }
}

import Synchronization

/// The job kinds a worker can run, by kind. Safe to share between services.
///
/// Every registry starts with the built-in `noop` kind.
public final class JobRegistry: Sendable {
    private let definitions: Mutex<[String: AnyJobDefinition]>

    /// Creates a registry holding the `noop` kind.
    public init() {
        let noop = AnyJobDefinition(JobDefinition<NoArguments>.noop)
        definitions = Mutex([noop.kind: noop])
    }

    /// Adds a kind, replacing any earlier definition of the same kind.
    public func register<Args>(_ definition: JobDefinition<Args>) {
        let erased = AnyJobDefinition(definition)
        definitions.withLock { $0[erased.kind] = erased }
    }

    /// The registered kinds, sorted.
    public var kinds: [String] { definitions.withLock { $0.keys.sorted() } }

    /// Checks that `kind` is registered and that `argsJSON` decodes into its arguments.
    /// - Throws: ``QueueError`` naming the unknown kind or the bad field.
    public func validate(kind: String, argsJSON: String) throws {
        guard let definition = self[kind] else {
            let shown = kind.count > 60 ? kind.prefix(60) + "…" : Substring(kind)
            throw QueueError(.unknownKind, "unknown job kind '\(shown)' (known: \(kinds.joined(separator: ", ")))")
        }
        try definition.validate(argsJSON)
    }

    /// The default queue and attempts of a registered kind.
    public func defaults(for kind: String) -> (queue: String, maxAttempts: Int)? {
        self[kind].map { ($0.queue, $0.maxAttempts) }
    }

    subscript(kind: String) -> AnyJobDefinition? {
        definitions.withLock { $0[kind] }
    }
}

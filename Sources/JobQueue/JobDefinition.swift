import Foundation

/// A kind of job: its name, typed arguments, handler and retry rules.
///
/// ```swift
/// struct SendWelcome: Codable, Sendable { var userID: Int64 }
/// let sendWelcome = JobDefinition<SendWelcome>(kind: "send_welcome", timeout: .seconds(30)) { args, context in
///     try await mailer.sendWelcome(to: args.userID)
/// }
/// registry.register(sendWelcome)
/// ```
public struct JobDefinition<Args: Codable & Sendable>: Sendable {
    /// The job kind, stored with each job; unique within a registry.
    public let kind: String
    /// The queue jobs of this kind go to unless the caller names another. Default: `default`.
    public var queue: String
    /// Attempts before the job is discarded. Default: 20.
    public var maxAttempts: Int
    /// The longest one attempt may run before its task is cancelled; nil for no limit. Default: nil.
    public var timeout: Duration?
    /// Backoff between attempts. Default: ``RetryPolicy/init(base:maximum:jitter:)``'s defaults.
    public var retryPolicy: RetryPolicy
    /// Runs one attempt; a thrown error fails the attempt.
    public let handler: @Sendable (Args, JobContext) async throws -> Void

    /// Creates a definition; every parameter has the default stated on its property.
    public init(
        kind: String,
        queue: String = "default",
        maxAttempts: Int = 20,
        timeout: Duration? = nil,
        retryPolicy: RetryPolicy = RetryPolicy(),
        handler: @escaping @Sendable (Args, JobContext) async throws -> Void
    ) {
        self.kind = kind
        self.queue = queue
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.retryPolicy = retryPolicy
        self.handler = handler
    }
}

/// The arguments of jobs that need none. Any JSON object decodes into it.
public struct NoArguments: Codable, Sendable, Hashable {
    /// Creates the empty value.
    public init() {}
}

extension JobDefinition where Args == NoArguments {
    /// The built-in `noop` kind: does nothing, for smoke tests and benchmarks.
    public static var noop: JobDefinition<NoArguments> {
        JobDefinition(kind: "noop") { _, _ in }
    }
}

/// A definition with its argument type erased, as the worker runs it.
struct AnyJobDefinition: Sendable {
    let kind: String
    let queue: String
    let maxAttempts: Int
    let timeout: Duration?
    let retryPolicy: RetryPolicy
    /// Decodes the JSON arguments, then runs the handler.
    let run: @Sendable (_ argsJSON: String, JobContext) async throws -> Void
    /// Checks that JSON arguments decode, without running anything (for enqueue from the CLI).
    let validate: @Sendable (_ argsJSON: String) throws -> Void

    init<Args>(_ definition: JobDefinition<Args>) {
        kind = definition.kind
        queue = definition.queue
        maxAttempts = definition.maxAttempts
        timeout = definition.timeout
        retryPolicy = definition.retryPolicy
        let kind = definition.kind
        let handler = definition.handler
        run = { json, context in
            let args = try JobArguments.decode(Args.self, from: json, kind: kind, jobID: context.jobID)
            try await handler(args, context)
        }
        validate = { json in _ = try JobArguments.decode(Args.self, from: json, kind: kind, jobID: nil) }
    }
}

/// JSON coding of job arguments, with errors that name the field at fault.
package enum JobArguments {
    package static func encode<Args: Encodable>(_ args: Args) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            return String(decoding: try encoder.encode(args), as: UTF8.self)
        } catch {
            throw QueueError(.encodeFailed, "arguments could not be encoded as JSON: \(error)")
        }
    }

    package static func decode<Args: Decodable>(_ type: Args.Type, from json: String, kind: String, jobID: Int64?) throws -> Args {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(Args.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            throw QueueError(.decodeFailed, jobID: jobID, "bad arguments for kind '\(kind)': \(describe(error))")
        } catch {
            throw QueueError(.decodeFailed, jobID: jobID, "bad arguments for kind '\(kind)': not valid JSON")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let joined = codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return joined.isEmpty ? "the arguments" : "field '\(joined)'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "field '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))' is missing"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) should be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) is null, should be \(typeName(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return "\(path(context.codingPath)) is invalid: \(context.debugDescription)"
        @unknown default:
            return "cannot be decoded"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }
}

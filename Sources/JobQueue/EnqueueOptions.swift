public import Foundation

/// How a job is enqueued. Fields left nil take the job kind's defaults.
public struct EnqueueOptions: Sendable, Hashable {
    /// The queue; nil for the kind's queue.
    public var queue: String?
    /// Lower runs first. Default: 0. Range: -100...100.
    public var priority: Int
    /// When to run; nil or a past time for now.
    public var runAt: Date?
    /// While a job with this key is pending, enqueuing another returns the pending job's id
    /// (``UniqueOptions`` with the defaults). Default: nil.
    public var uniqueKey: String? {
        get { if case .key(let key) = unique?.key { key } else { nil } }
        set { unique = newValue.map { UniqueOptions(key: .key($0)) } }
    }
    /// When the job is the same as a queued one, and what happens then. Default: nil (never).
    public var unique: UniqueOptions?
    /// Attempts before discarding; nil for the kind's default.
    public var maxAttempts: Int?
    /// See ``NewJob/meta``. Default: empty.
    public var meta: [String: String]
    /// See ``NewJob/tags``. Default: none.
    public var tags: [String]
    /// See ``NewJob/dependsOn``. Default: none.
    public var dependsOn: [Int64]

    /// Creates options; every parameter has the default stated on its property.
    public init(queue: String? = nil, priority: Int = 0, runAt: Date? = nil, uniqueKey: String? = nil, maxAttempts: Int? = nil,
                meta: [String: String] = [:], tags: [String] = [], unique: UniqueOptions? = nil, dependsOn: [Int64] = []) {
        self.dependsOn = dependsOn
        self.meta = meta
        self.tags = tags
        self.unique = unique ?? uniqueKey.map { UniqueOptions(key: .key($0)) }
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
    }
}

/// One job to enqueue, with its arguments already encoded: the unit of bulk enqueue.
public struct NewJob: Sendable, Hashable {
    /// The job kind.
    public var kind: String
    /// The arguments as a JSON object.
    public var argsJSON: String
    /// The queue.
    public var queue: String
    /// Lower runs first.
    public var priority: Int
    /// When to run; nil for now.
    public var runAt: Date?
    /// See ``EnqueueOptions/uniqueKey``.
    public var uniqueKey: String? {
        get { if case .key(let key) = unique?.key { key } else { nil } }
        set { unique = newValue.map { UniqueOptions(key: .key($0)) } }
    }
    /// See ``EnqueueOptions/unique``.
    public var unique: UniqueOptions?
    /// Attempts before discarding.
    public var maxAttempts: Int
    /// What the job belongs to, opaque to the queue (an application may say `["unit": "T01"]`
    /// and show each user only the jobs of what they may see).
    public var meta: [String: String]
    /// Labels to find the job by (`jobs list --tag`), as Oban's and River's tags: at most 20, each
    /// 1 to 64 bytes. Default: none.
    public var tags: [String]
    /// The jobs this one waits for: it stays ``JobState/waiting`` until every one of them
    /// completed, and is cancelled if one of them is discarded or cancelled (a small workflow:
    /// "rebuild the aggregates after these imports"). At most 100 ids, of jobs that exist.
    /// Default: none, the job is runnable at once.
    public var dependsOn: [Int64]

    /// Creates a job from raw JSON arguments.
    public init(kind: String, argsJSON: String = "{}", queue: String = "default", priority: Int = 0,
                runAt: Date? = nil, uniqueKey: String? = nil, maxAttempts: Int = 20, meta: [String: String] = [:],
                tags: [String] = [], unique: UniqueOptions? = nil, dependsOn: [Int64] = []) {
        self.dependsOn = dependsOn
        self.meta = meta
        self.tags = tags
        self.kind = kind
        self.argsJSON = argsJSON
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.unique = unique ?? uniqueKey.map { UniqueOptions(key: .key($0)) }
        self.maxAttempts = maxAttempts
    }

    /// Creates a job of a definition with typed arguments.
    public init<Args>(_ definition: JobDefinition<Args>, _ args: Args, options: EnqueueOptions = .init()) throws {
        self.init(
            kind: definition.kind, argsJSON: try JobArguments.encode(args), queue: options.queue ?? definition.queue,
            priority: options.priority, runAt: options.runAt,
            maxAttempts: options.maxAttempts ?? definition.maxAttempts, meta: options.meta, tags: options.tags, unique: options.unique,
            dependsOn: options.dependsOn)
    }

    /// Checks the values the database would reject, so the caller gets a message naming the field.
    func validate() throws {
        guard !kind.isEmpty, kind.utf8.count <= 128 else {
            throw QueueError(.invalidArgument, "kind must be 1 to 128 bytes long")
        }
        guard QueueName.isValid(queue) else {
            throw QueueError(.invalidArgument, "queue '\(queue)' is invalid: use 1 to 128 letters, digits, '_', '-' or '.'")
        }
        guard (-100...100).contains(priority) else {
            throw QueueError(.invalidArgument, "priority \(priority) is out of range -100...100")
        }
        guard (1...1000).contains(maxAttempts) else {
            throw QueueError(.invalidArgument, "max attempts \(maxAttempts) is out of range 1...1000")
        }
        try unique?.validate()
        guard metaJSON.utf8.count <= 4096 else { throw QueueError(.invalidArgument, "meta must be at most 4 KB as JSON") }
        guard tags.count <= 20 else { throw QueueError(.invalidArgument, "a job has at most 20 tags, not \(tags.count)") }
        if let bad = tags.first(where: { $0.isEmpty || $0.utf8.count > 64 || $0.contains("\u{0}") }) {
            throw QueueError(.invalidArgument, "tag '\(bad.prefix(64))' must be 1 to 64 bytes, without NUL")
        }
        guard dependsOn.count <= 100 else {
            throw QueueError(.invalidArgument, "a job depends on at most 100 jobs, not \(dependsOn.count)")
        }
        if let bad = dependsOn.first(where: { $0 <= 0 }) {
            throw QueueError(.invalidArgument, "job id \(bad) in dependsOn is not a job's id")
        }
    }

    /// ``tags`` as a JSON array, for the bulk insert.
    var tagsJSON: String {
        // Most jobs have none: no encoder for them (it cost a bulk enqueue of 20,000 jobs visibly).
        guard !tags.isEmpty else { return "[]" }
        return (try? JSONEncoder().encode(tags)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    /// ``meta`` as a JSON object.
    var metaJSON: String {
        guard !meta.isEmpty else { return "{}" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(meta)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// Queue names travel in NOTIFY payloads and URLs, so they are kept to a plain alphabet.
package enum QueueName {
    package static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)) }
    }
}

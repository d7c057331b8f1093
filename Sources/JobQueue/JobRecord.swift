public import Foundation

/// A job as stored, for listings and staff tools.
public struct JobRecord: Sendable, Hashable, Codable {
    /// One failed attempt.
    public struct AttemptError: Sendable, Hashable, Codable {
        /// The attempt that failed.
        public var attempt: Int
        /// When it failed.
        public var at: Date
        /// What went wrong.
        public var error: String
    }

    public var id: Int64
    public var queue: String
    public var kind: String
    /// The arguments as JSON.
    public var args: String
    public var priority: Int
    public var state: JobState
    public var attempt: Int
    public var maxAttempts: Int
    public var runAt: Date
    public var attemptedAt: Date?
    public var attemptedBy: String?
    public var leaseExpiresAt: Date?
    public var errors: [AttemptError]
    public var uniqueKey: String?
    public var createdAt: Date
    public var finalizedAt: Date?
    /// See ``NewJob/meta``; values that are not strings are left out.
    public var meta: [String: String]
    /// See ``NewJob/tags``.
    public var tags: [String]
    /// See ``NewJob/dependsOn``.
    public var dependsOn: [Int64] = []
}

/// Counts of one queue's jobs, for `jobs stats`, `queues list` and the operations page.
public struct QueueStats: Sendable, Hashable, Codable {
    public var queue: String
    public var paused: Bool
    public var available: Int
    public var scheduled: Int
    public var running: Int
    public var retryable: Int
    /// Jobs completed in the last 24 hours (the workers' counts: the completed jobs kept until
    /// pruning are not counted on every request).
    public var completed: Int
    /// Discarded and cancelled jobs still kept.
    public var discarded: Int
    public var cancelled: Int
    /// Seconds the oldest runnable job has waited; nil when none waits.
    public var oldestAvailableAgeSeconds: Double?
    /// At most this many of its jobs run at once across all workers; nil for no limit.
    public var concurrencyLimit: Int? = nil
    /// At most this many of its jobs start per period across all workers; nil for no limit.
    public var rateLimit: RateLimit? = nil
    /// Jobs waiting for the jobs they depend on.
    public var waiting: Int = 0
}

/// At most `starts` job starts per `period`, across all workers.
public struct RateLimit: Sendable, Hashable, Codable, CustomStringConvertible {
    public var starts: Int
    public var period: Duration

    public init(starts: Int, per period: Duration) {
        self.starts = starts
        self.period = period
    }

    /// `20/1s`, `5000/86400s`.
    public var description: String {
        let seconds = period.seconds
        return "\(starts)/\(seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds))s"
    }

    /// Reads `N/SECONDSs` (or `N/SECONDS`), as ``description`` writes it.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let starts = Int(parts[0]), starts > 0 else { return nil }
        let period = parts[1].hasSuffix("s") ? parts[1].dropLast() : parts[1]
        guard let seconds = Double(period), seconds > 0, seconds <= 366 * 86_400 else { return nil }
        self.init(starts: starts, per: .milliseconds(Int64(seconds * 1000)))
    }

    enum CodingKeys: String, CodingKey { case starts, periodSeconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        starts = try container.decode(Int.self, forKey: .starts)
        period = .milliseconds(Int64(try container.decode(Double.self, forKey: .periodSeconds) * 1000))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(starts, forKey: .starts)
        try container.encode(period.seconds, forKey: .periodSeconds)
    }
}

/// Filters and paging of a job listing.
public struct JobFilter: Sendable, Hashable {
    public var state: JobState?
    public var queue: String?
    public var kind: String?
    /// At most this many jobs. Default: 50.
    public var limit: Int
    /// Only jobs with an id below this (the previous page's last id), newest first.
    public var beforeID: Int64?
    /// Only jobs whose ``JobRecord/meta`` has one of these values under this key.
    public var meta: MetaFilter?
    /// Only jobs with every one of these tags. Default: none.
    public var tags: [String] = []
    /// Only jobs whose ``JobRecord/meta`` has each of these values under its key. Default: none.
    public var metaMatches: [String: String] = [:]
    /// Only jobs whose arguments contain this JSON object (`args @> …`), e.g. `{"loan": "HD1"}`.
    public var argsContaining: String?
    /// Only jobs with this text as the value of one of their arguments' top-level keys (a loan or
    /// unit code, whatever the key is called).
    public var argsValue: String?
    /// Only jobs created at or after this moment.
    public var createdAfter: Date?
    /// Only jobs created before this moment.
    public var createdBefore: Date?

    var metaMatchesJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(metaMatches)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A condition on one key of ``JobRecord/meta``.
    public struct MetaFilter: Sendable, Hashable {
        public var key: String
        public var values: [String]

        public init(key: String, values: [String]) {
            self.key = key
            self.values = values
        }
    }

    /// Creates a filter; every parameter has the default stated on its property.
    public init(
        state: JobState? = nil, queue: String? = nil, kind: String? = nil, limit: Int = 50, beforeID: Int64? = nil, meta: MetaFilter? = nil
    ) {
        self.meta = meta
        self.state = state
        self.queue = queue
        self.kind = kind
        self.limit = limit
        self.beforeID = beforeID
    }
}

/// Who leads, for `queues list` and the operations page.
public struct LeaderInfo: Sendable, Hashable, Codable {
    /// The leader's worker id (`host:pid:suffix`).
    public var id: String
    public var electedAt: Date
    /// When its claim runs out unless renewed.
    public var expiresAt: Date
}

/// A periodic job's last and next run.
public struct PeriodicJobInfo: Sendable, Hashable, Codable {
    public var name: String
    public var schedule: String
    /// The period last enqueued.
    public var lastScheduledAt: Date?
    public var lastJobID: Int64?
    /// The state of that period's job (nil once pruned).
    public var lastJobState: JobState?
    public var nextRunAt: Date?

    public init(name: String, schedule: String, lastScheduledAt: Date? = nil, lastJobID: Int64? = nil, lastJobState: JobState? = nil,
                nextRunAt: Date? = nil) {
        self.name = name
        self.schedule = schedule
        self.lastScheduledAt = lastScheduledAt
        self.lastJobID = lastJobID
        self.lastJobState = lastJobState
        self.nextRunAt = nextRunAt
    }
}

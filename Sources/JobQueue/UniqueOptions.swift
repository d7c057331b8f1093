public import Foundation

/// When a job is the same as one already queued, and what enqueueing it again does — River's
/// `UniqueOpts`, Oban's `unique`, Graphile Worker's job keys.
///
/// ```swift
/// // One recompute per unit per day, however many imports ask for it; a later request pushes
/// // the pending one back (debounce).
/// try await queue.enqueue(recompute, .init(unit: "T01"), options: .init(
///     unique: .init(key: .arguments, period: .seconds(86_400), onConflict: .pushRunAt), runAt: .now + 60))
/// ```
public struct UniqueOptions: Sendable, Hashable {
    /// What makes two jobs the same.
    public enum Key: Sendable, Hashable {
        /// The same key.
        case key(String)
        /// The same kind and arguments (as JSON, whatever the order of its keys).
        case arguments
    }

    /// What enqueueing a job the same as a queued one does. Either way the queued job's id is returned.
    public enum OnConflict: Sendable, Hashable {
        /// Nothing: the queued job stays as it is.
        case keep
        /// The queued job takes the new arguments, unless it is running.
        case replaceArgs
        /// The queued job takes the new `run_at` (and arguments), unless it is running: a debounce.
        case pushRunAt
    }

    /// The jobs of these states block a new one; by default the pending ones.
    public static let pendingStates: Set<JobState> = [.waiting, .available, .scheduled, .running, .retryable]

    public var key: Key
    /// Same only within one period of this length (counted from 1970 in UTC, by the enqueuing
    /// machine's clock): e.g. one a day. nil: whenever. Default: nil.
    public var period: Duration?
    /// The states in which a queued job counts: the pending ones and any of the finished ones. Add
    /// `.completed` for "at most once per period, even if the first one finished". Default: ``pendingStates``.
    public var states: Set<JobState>
    /// Default: ``OnConflict/keep``.
    public var onConflict: OnConflict

    /// Creates options; every parameter has the default stated on its property.
    public init(key: Key, period: Duration? = nil, states: Set<JobState> = Self.pendingStates, onConflict: OnConflict = .keep) {
        self.key = key
        self.period = period
        self.states = states
        self.onConflict = onConflict
    }

    /// The key as stored in `unique_key`, given the arguments' digest when the key is by arguments.
    func storedKey(kind: String, argumentsDigest: String?, at now: Date) -> String {
        var stored: String
        switch key {
        case .key(let key): stored = key
        case .arguments: stored = "\(kind):args:\(argumentsDigest ?? "")"
        }
        if let period, period > .zero {
            let seconds = max(period.seconds, 1)
            let start = (now.timeIntervalSince1970 / seconds).rounded(.down) * seconds
            stored += "@\(Int64(start))"
        }
        return stored
    }

    /// ``states`` as `job_state` names, in a stable order.
    var stateNames: [String] { JobState.allCases.filter(states.contains).map(\.rawValue) }

    func validate() throws {
        // River's rule: a job that is not finished always counts. Otherwise a retried or rescued job
        // could collide with a newer one on its way back to `available`, and that write would fail
        // for good (and hold up the statements that carry it).
        guard Self.pendingStates.isSubset(of: states) else {
            throw QueueError(.invalidArgument, "unique states must include every pending state (waiting, available, scheduled, running, retryable)")
        }
        if case .key(let key) = key, key.isEmpty || key.utf8.count > 480 {
            throw QueueError(.invalidArgument, "unique key must be 1 to 480 bytes long")
        }
        if onConflict != .keep, states.contains(.completed) || states.contains(.discarded) || states.contains(.cancelled) {
            // A finished job's arguments or time cannot change: replacing would silently do nothing.
            throw QueueError(.invalidArgument, "replacing or pushing back a job needs unique states of pending jobs only")
        }
    }
}

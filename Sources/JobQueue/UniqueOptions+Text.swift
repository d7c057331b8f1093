import Foundation

extension UniqueOptions {
    /// Uniqueness as people write it on a command line or in a JSON request: `by` is `key` (with
    /// `key`) or `args`; `period` in seconds; `finishedStates` any of completed, discarded,
    /// cancelled (the pending states always count); `onConflict` keep, replace-args or push-run-at
    /// (`_` for `-` too).
    /// - Returns: nil when neither a key nor `by` is given.
    /// - Throws: ``QueueError`` naming the value at fault.
    public static func parse(
        by: String?, key: String?, periodSeconds: Double? = nil, finishedStates: [String] = [], onConflict: String? = nil
    ) throws -> UniqueOptions? {
        let uniqueKey: Key
        switch (by, key) {
        case (nil, nil):
            guard periodSeconds == nil, finishedStates.isEmpty, onConflict == nil else {
                throw QueueError(.invalidArgument, "unique period, states and on-conflict need a unique key or unique by args")
            }
            return nil
        case ("args", nil): uniqueKey = .arguments
        case ("args", _?): throw QueueError(.invalidArgument, "a job is unique by its arguments or by a key, not both")
        case (nil, let key?), ("key", let key?): uniqueKey = .key(key)
        case ("key", nil): throw QueueError(.invalidArgument, "unique by key needs the key")
        case (let other?, _): throw QueueError(.invalidArgument, "unique by '\(other.prefix(40))': expected args or key")
        }
        var options = UniqueOptions(key: uniqueKey)
        if let periodSeconds {
            guard periodSeconds >= 1, periodSeconds <= 366 * 86_400 else {
                throw QueueError(.invalidArgument, "unique period \(periodSeconds) s: expected 1 to 31622400 seconds")
            }
            options.period = .milliseconds(Int64(periodSeconds * 1000))
        }
        for name in finishedStates {
            guard let state = JobState(rawValue: name), [.completed, .discarded, .cancelled].contains(state) else {
                throw QueueError(.invalidArgument, "unique state '\(name.prefix(40))': expected completed, discarded or cancelled (pending states always count)")
            }
            options.states.insert(state)
        }
        switch onConflict?.replacingOccurrences(of: "_", with: "-") {
        case nil, "keep": options.onConflict = .keep
        case "replace-args": options.onConflict = .replaceArgs
        case "push-run-at": options.onConflict = .pushRunAt
        case let other?: throw QueueError(.invalidArgument, "on conflict '\(other.prefix(40))': expected keep, replace-args or push-run-at")
        }
        try options.validate()
        return options
    }
}

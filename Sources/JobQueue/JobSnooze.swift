/// What a handler throws to run its job again later without using up an attempt: the job waits
/// `delay`, then runs again with one more attempt allowed (Oban's `{:snooze, s}`; River's
/// `JobSnooze`). The attempt counter still counts runs, so that a late write about this run can
/// never be mistaken for one about the next.
///
/// ```swift
/// // The gateway's daily quota is spent: try again in an hour, as if this attempt never happened.
/// throw JobSnooze(.seconds(3600))
/// ```
public struct JobSnooze: Error, Sendable, CustomStringConvertible {
    /// How long the job waits before it runs again.
    public let delay: Duration

    public init(_ delay: Duration) {
        self.delay = max(delay, .zero)
    }

    public var description: String { "snoozed for \(delay)" }
}

/// What a handler throws to steer its job's retry instead of the default backoff.
///
/// ```swift
/// throw JobFailure.discard("the recipient has no phone number")
/// throw JobFailure.retry(after: .seconds(30), "the gateway asked us to slow down")
/// ```
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    /// What the queue does with the job.
    public enum Action: Sendable, Hashable {
        /// Fail for good now, whatever attempts are left.
        case discard
        /// Try again after this delay (counts as an attempt).
        case retry(after: Duration)
    }

    /// What the queue does with the job.
    public let action: Action
    /// The reason, kept in the job's errors.
    public let reason: String

    /// Do not retry this job: it is `discarded` with the reason.
    public static func discard(_ reason: String) -> JobFailure { .init(action: .discard, reason: reason) }

    /// Retry after `delay` instead of the policy's backoff.
    public static func retry(after delay: Duration, _ reason: String) -> JobFailure {
        .init(action: .retry(after: delay), reason: reason)
    }

    public var description: String { reason }
}

/// How long a failed job waits before its next attempt: exponential backoff with jitter.
///
/// The delay after attempt `n` is `base × 2^(n-1)`, capped at `maximum`, then spread by ±`jitter`
/// so that jobs that failed together do not all retry in the same instant.
public struct RetryPolicy: Sendable, Hashable {
    /// The delay after the first failed attempt. Default: 1 second.
    public var base: Duration
    /// The longest delay. Default: 1 hour.
    public var maximum: Duration
    /// The fraction by which a delay may vary either way, 0 to 1. Default: 0.2.
    public var jitter: Double

    /// Creates a policy; every parameter has the default stated on its property.
    public init(base: Duration = .seconds(1), maximum: Duration = .seconds(3600), jitter: Double = 0.2) {
        self.base = base
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before the attempt after `attempt` (1-based), with `unit` in `0...1` choosing the
    /// point in the jitter range (a random number in production, a fixed one in tests).
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let raw = base.seconds * Double(UInt64(1) << UInt64(exponent))
        let capped = min(raw, maximum.seconds)
        let spread = capped * (1 + jitter * (2 * min(max(unit, 0), 1) - 1))
        return .milliseconds(Int64((spread * 1000).rounded()))
    }

    /// The delay with a random jitter.
    public func delay(afterAttempt attempt: Int) -> Duration {
        delay(afterAttempt: attempt, unit: Double.random(in: 0...1))
    }
}

extension Duration {
    /// The duration in nanoseconds, saturating at `Int64.max`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
    }

    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// The wait before the queue tries one of its own statements again while PostgreSQL is away:
/// 200 ms doubling per failure in a row, at most `maximum`.
enum ReconnectBackoff {
    static func delay(afterFailures failures: Int, maximum: Duration = .seconds(3)) -> Duration {
        min(.milliseconds(100 << min(max(failures, 0), 6)), maximum)
    }
}

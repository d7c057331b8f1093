import Foundation
import Synchronization

/// Counts failed authentications per address over a sliding minute: past the limit, the address
/// gets 429 until its oldest failure leaves the window, so guessing tokens is slow and cheap to refuse.
final class FailedAuthenticationLimiter: Sendable {
    static let window: Duration = .seconds(60)
    let limit: Int
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])

    init(limit: Int = 30) {
        self.limit = limit
    }

    /// Seconds to wait when `address` is over the limit; nil when it may try.
    func retryAfter(_ address: String) -> Int? {
        let now = ContinuousClock.now
        return failures.withLock { failures -> Int? in
            let recent = (failures[address] ?? []).filter { now - $0 < Self.window }
            failures[address] = recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return max(1, Int(((oldest + Self.window) - now).components.seconds) + 1)
        }
    }

    func recordFailure(_ address: String) {
        let now = ContinuousClock.now
        failures.withLock { failures in
            // Bounded: a flood from many addresses cannot grow the table without end. Addresses
            // whose failures left the window go first; only a flood within one minute clears all.
            if failures.count > 100_000 {
                failures = failures.filter { $0.value.contains { now - $0 < Self.window } }
                if failures.count > 100_000 { failures.removeAll() }
            }
            failures[address, default: []].append(now)
        }
    }
}

import JobQueue
import Testing

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesUpToTheCap() {
        let policy = RetryPolicy(base: .seconds(1), maximum: .seconds(10), jitter: 0)
        let delays = (1...6).map { policy.delay(afterAttempt: $0, unit: 0.5) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
    }

    @Test func jitterStaysWithinItsBand() {
        let policy = RetryPolicy(base: .seconds(10), maximum: .seconds(100), jitter: 0.2)
        #expect(policy.delay(afterAttempt: 1, unit: 0) == .seconds(8))
        #expect(policy.delay(afterAttempt: 1, unit: 1) == .seconds(12))
        for _ in 0..<100 {
            let delay = policy.delay(afterAttempt: 2)
            #expect(delay >= .seconds(16) && delay <= .seconds(24))
        }
    }

    @Test func hugeAttemptsDoNotOverflow() {
        let policy = RetryPolicy(base: .seconds(1), maximum: .seconds(3600), jitter: 0)
        #expect(policy.delay(afterAttempt: 10_000, unit: 0.5) == .seconds(3600))
    }
}

@testable import JobQueue
import Testing

@Suite struct WorkerStateTests {
    @Test func claimsFillOnlyFreeSlots() {
        var state = WorkerState(concurrency: ["default": 10])
        #expect(state.reserve(queue: "default", maxBatch: 4) == 4)
        state.claimed(queue: "default", reserved: 4, got: 4)
        #expect(state.reserve(queue: "default", maxBatch: 100) == 6)
        state.claimed(queue: "default", reserved: 6, got: 6)
        #expect(state.reserve(queue: "default", maxBatch: 100) == 0)
        #expect(state.peak["default"] == 10)
    }

    @Test func aShortClaimMarksTheQueueEmptyUntilNotified() {
        var state = WorkerState(concurrency: ["default": 10])
        let reserved = state.reserve(queue: "default", maxBatch: 100)
        state.claimed(queue: "default", reserved: reserved, got: 0)
        #expect(state.reserve(queue: "default", maxBatch: 100) == 0)
        let ours = state.markHasWork(queue: "default")
        #expect(ours)
        #expect(state.reserve(queue: "default", maxBatch: 100) == 10)
        let notOurs = state.markHasWork(queue: "elsewhere")
        #expect(!notOurs)
    }

    /// The lost wake-up CI caught: a notification arriving while a claim is in flight announces a
    /// job the claim may not have seen; the queue must stay marked so the next wake-up claims it.
    @Test func aNotificationDuringAClaimIsNotLost() {
        var state = WorkerState(concurrency: ["default": 10])
        let reserved = state.reserve(queue: "default", maxBatch: 100)
        _ = state.markHasWork(queue: "default")  // arrives while the claim runs
        state.claimed(queue: "default", reserved: reserved, got: 0)
        #expect(state.reserve(queue: "default", maxBatch: 100) == 10)
    }

    /// A busy worker's claims fill whole batches: right after a claim, the slots of jobs that are
    /// still starting are not worth a round trip of their own until the cooldown has passed.
    @Test func aClaimForPartOfABatchWaitsForTheCooldown() {
        let start = ContinuousClock.now
        var state = WorkerState(concurrency: ["default": 10], claimCooldown: .milliseconds(5))
        #expect(state.reserve(queue: "default", maxBatch: 100, now: start) == 10)
        state.claimed(queue: "default", reserved: 10, got: 10, now: start)
        for _ in 1...3 { state.finished(queue: "default") }

        #expect(state.reserve(queue: "default", maxBatch: 100, now: start + .milliseconds(1)) == 0)
        #expect(state.takeDeferredClaim() == start + .milliseconds(5))
        #expect(state.takeDeferredClaim() == nil)
        #expect(state.reserve(queue: "default", maxBatch: 100, now: start + .milliseconds(5)) == 3)
        state.claimed(queue: "default", reserved: 3, got: 3, now: start + .milliseconds(6))

        // A whole batch free goes at once, cooldown or not.
        for _ in 4...13 { state.finished(queue: "default") }
        #expect(state.reserve(queue: "default", maxBatch: 100, now: start + .milliseconds(7)) == 10)

        // After a short claim no batch is forming: a freed slot is claimed at once.
        state.claimed(queue: "default", reserved: 10, got: 4, now: start + .milliseconds(8))
        _ = state.markHasWork(queue: "default")
        state.finished(queue: "default")
        #expect(state.reserve(queue: "default", maxBatch: 100, now: start + .milliseconds(8)) == 7)
    }
}

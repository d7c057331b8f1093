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
}

import Synchronization

/// The worker's bookkeeping, always changed under its lock. A pure value, so that its rules are
/// tested without a database.
package struct WorkerState: Sendable {
    let concurrency: [String: Int]
    /// At this many ``abandoned`` handlers the worker claims nothing more.
    let maxAbandoned: Int
    /// Handlers that ignored their cancellation and still run.
    package var abandoned = 0
    package var inFlight: [String: Int] = [:]
    package var peak: [String: Int] = [:]
    /// Queues that may have runnable jobs: a claim that came back short clears the flag until a
    /// notification or the poll sets it again, so freed slots do not cause empty claims.
    package var hasWork: Set<String>
    /// Counts the notifications (and polls) of each queue. A claim that comes back short clears
    /// `hasWork` only if none arrived while it was in flight: the job that notification announced
    /// may have committed after the claim's snapshot, and must not wait for the next poll.
    private var wakeups: [String: Int] = [:]
    private var wakeupsAtReservation: [String: Int] = [:]
    var running: [Int64: RunningJob] = [:]
    var shuttingDown = false
    /// This worker's queues that have a concurrency or rate limit across workers (refreshed every
    /// poll): claimed under the queue's lock.
    var limitedQueues: Set<String> = []
    /// Set when the listener (re)connects: a cancellation sent while it was away is caught by
    /// renewing the leases at once (a cancelled job's lease cannot be renewed).
    var renewLeasesNow = false

    package init(concurrency: [String: Int], maxAbandoned: Int = .max) {
        self.concurrency = concurrency
        self.maxAbandoned = maxAbandoned
        self.hasWork = Set(concurrency.keys)
    }

    /// Reserves the slots a claim may fill; 0 when the queue is full or known to be empty, or the
    /// worker stopped claiming.
    package mutating func reserve(queue: String, maxBatch: Int) -> Int {
        guard !shuttingDown, abandoned < maxAbandoned, hasWork.contains(queue) else { return 0 }
        let free = (concurrency[queue] ?? 0) - (inFlight[queue] ?? 0)
        let count = min(free, maxBatch)
        guard count > 0 else { return 0 }
        inFlight[queue, default: 0] += count
        wakeupsAtReservation[queue] = wakeups[queue, default: 0]
        return count
    }

    package mutating func claimed(queue: String, reserved: Int, got: Int) {
        inFlight[queue, default: 0] -= reserved - got
        peak[queue] = max(peak[queue] ?? 0, inFlight[queue] ?? 0)
        if got < reserved, wakeups[queue, default: 0] == wakeupsAtReservation[queue] {
            hasWork.remove(queue)
        }
    }

    mutating func finished(queue: String, id: Int64) {
        inFlight[queue, default: 0] -= 1
        running[id] = nil
        // A limited queue's claim may have come back short for the limit, not for want of jobs:
        // the slot this job frees may be claimable now.
        if limitedQueues.contains(queue) { _ = markHasWork(queue: queue) }
    }

    /// Returns true when the queue is one of ours.
    package mutating func markHasWork(queue: String) -> Bool {
        guard concurrency[queue] != nil else { return false }
        hasWork.insert(queue)
        wakeups[queue, default: 0] += 1
        return true
    }

    package mutating func markAllHaveWork() {
        for queue in concurrency.keys { _ = markHasWork(queue: queue) }
    }
}

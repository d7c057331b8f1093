import Synchronization

/// The worker's bookkeeping, always changed under its lock. A pure value, so that its rules are
/// tested without a database.
package struct WorkerState: Sendable {
    let concurrency: [String: Int]
    /// How long after a full claim of a queue came back a claim for fewer than a full batch waits
    /// (see ``WorkerService/Configuration/claimCooldown``).
    let claimCooldown: Duration
    private var lastClaimAt: [String: ContinuousClock.Instant] = [:]
    /// The earliest instant at which a claim put off for the cooldown may go: the claim loop's
    /// next wake-up if nothing else comes first.
    private(set) var deferredClaimAt: ContinuousClock.Instant?
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
    /// The runs of jobs here, each by its own identity rather than its job's id: one job can run
    /// here twice at once. A claim whose commit was lost (the primary died before its
    /// asynchronous standby had it) leaves its job runnable at the same attempt, and this worker,
    /// still running that attempt, may claim it again. Keyed by job id, the second run took the
    /// first's place, and when it finished nothing watched the first: no time-out, no drain, and a
    /// shutdown that waited for it for good.
    var running: [ObjectIdentifier: RunningJob] = [:]
    var shuttingDown = false
    /// This worker's queues that have a concurrency or rate limit across workers (refreshed every
    /// poll): claimed under the queue's lock.
    var limitedQueues: Set<String> = []
    /// Set when the listener (re)connects: a cancellation sent while it was away is caught by
    /// renewing the leases at once (a cancelled job's lease cannot be renewed).
    var renewLeasesNow = false

    package init(concurrency: [String: Int], maxAbandoned: Int = .max, claimCooldown: Duration = .zero) {
        self.concurrency = concurrency
        self.claimCooldown = claimCooldown
        self.maxAbandoned = maxAbandoned
        self.hasWork = Set(concurrency.keys)
    }

    /// Reserves the slots a claim may fill; 0 when the queue is full or known to be empty, the
    /// worker stopped claiming, or fewer slots than a full batch are free within the cooldown of
    /// the queue's last claim (then ``deferredClaimAt`` says when to look again).
    package mutating func reserve(queue: String, maxBatch: Int, now: ContinuousClock.Instant = .now) -> Int {
        guard !shuttingDown, abandoned < maxAbandoned, hasWork.contains(queue) else { return 0 }
        let capacity = concurrency[queue] ?? 0
        let free = capacity - (inFlight[queue] ?? 0)
        let count = min(free, maxBatch)
        guard count > 0 else { return 0 }
        if count < min(capacity, maxBatch), let last = lastClaimAt[queue], now < last + claimCooldown {
            deferredClaimAt = min(deferredClaimAt ?? last + claimCooldown, last + claimCooldown)
            return 0
        }
        inFlight[queue, default: 0] += count
        wakeupsAtReservation[queue] = wakeups[queue, default: 0]
        return count
    }

    package mutating func claimed(queue: String, reserved: Int, got: Int, now: ContinuousClock.Instant = .now) {
        inFlight[queue, default: 0] -= reserved - got
        // Only a full claim says that a batch is forming: after a short one, a freed slot waits for nothing.
        lastClaimAt[queue] = got == reserved ? now : nil
        peak[queue] = max(peak[queue] ?? 0, inFlight[queue] ?? 0)
        if got < reserved, wakeups[queue, default: 0] == wakeupsAtReservation[queue] {
            hasWork.remove(queue)
        }
    }

    /// The instant to wake the claim loop for claims put off by the cooldown, once.
    package mutating func takeDeferredClaim() -> ContinuousClock.Instant? {
        defer { deferredClaimAt = nil }
        return deferredClaimAt
    }

    mutating func started(_ run: RunningJob) {
        running[ObjectIdentifier(run)] = run
    }

    /// A run of `queue` ended: its slot is free (and `run`, when given, is no longer watched).
    mutating func finished(queue: String, run: RunningJob? = nil) {
        inFlight[queue, default: 0] -= 1
        if let run { running[ObjectIdentifier(run)] = nil }
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
